"""Streamlit helpers shared by the pages (state, job panels, widgets). Pages draw; core computes."""
