"""Safe defaults: the app serves this machine only, keeps Streamlit's XSRF protection, limits uploads, and
names from users (uploaded files, exports, selections) cannot leave their folder; recipes are data."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core.errors import WinnowError
from core.workspace import safe_name

ROOT = Path(__file__).resolve().parents[2]


def config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_config_serves_localhost_only_with_xsrf_protection_and_an_upload_limit():
    server = config()["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True  # CORS protection is not switched off either
    assert isinstance(server["maxUploadSize"], int) and 1 <= server["maxUploadSize"] <= 4096  # MB


def test_streamlit_itself_reads_these_settings():
    """What Streamlit will really use when started from the repository (not only what the file says)."""
    code = ("import streamlit.config as c; c.get_config_options(force_reparse=True); "
            "print(c.get_option('server.address'), c.get_option('server.enableXsrfProtection'), "
            "c.get_option('server.maxUploadSize'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["127.0.0.1", "True", str(config()["server"]["maxUploadSize"])]


def test_make_run_binds_to_localhost_unless_address_is_given():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^ADDRESS \?= 127\.0\.0\.1$", makefile, re.M)
    run = makefile[makefile.index("\nrun:"):]
    run = run[: run.index("\n\n")]
    assert "--server.address $(ADDRESS)" in run
    out = subprocess.run(["make", "-n", "-W", "demo", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if out.returncode == 0:  # make is installed: the command it would run listens on 127.0.0.1
        assert "--server.address 127.0.0.1" in out.stdout


def test_the_readme_documents_the_risk_of_serving_other_interfaces():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Security"):]
    assert "ADDRESS=0.0.0.0" in section and "XSRF" in section and "maxUploadSize" in section


# Names an upload, an export or a selection could be given to escape its folder.
HOSTILE_NAMES = ["../evil.jsonl", "../../etc/passwd", "/etc/passwd", "a/b.jsonl", "a\\b.jsonl", "..", ".",
                 ".hidden.jsonl", "", "   ", "x" * 101, "name\x00.jsonl", "new\nline.jsonl", "~/x.jsonl",
                 "C:\\Windows\\x.jsonl", "..\\..\\x.jsonl", "x..y.jsonl"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_safe_name_refuses_a_name_that_could_leave_its_folder(name):
    with pytest.raises(WinnowError, match="invalid"):
        safe_name(name, "file name")


@pytest.mark.parametrize("name", ["data.jsonl", "my-corpus_v2.parquet", "A1.csv.gz"])
def test_safe_name_keeps_plain_file_names(name):
    assert safe_name(name) == name


@pytest.mark.parametrize("uploaded", ["../../../tmp/evil.jsonl", "/etc/cron.d/evil.jsonl", "..\\..\\evil.jsonl",
                                      "sub/dir/ok file.jsonl", "ok.jsonl"])
def test_an_uploaded_file_name_stays_in_the_staging_folder(uploaded, tmp_path):
    """The sidebar stages an upload as safe_name(Path(name).name with spaces as '_'): inside its folder or refused."""
    from ui.sidebar import upload_file_name

    stage = tmp_path / ".uploads"
    try:
        name = upload_file_name(uploaded)
    except WinnowError:
        return
    target = (stage / name).resolve()
    assert target.parent == stage.resolve()


def test_the_sidebar_upload_names_its_size_limit():
    from ui.sidebar import upload_limit_text

    limit = config()["server"]["maxUploadSize"]
    assert f"{limit:,} MB" in upload_limit_text()


def test_export_and_selection_names_cannot_leave_the_workspace(tmp_path):
    from core.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws")
    for argv in (["export", "--selection", "../../x"], ["export", "--selection", "ok", "--name", "../x"],
                 ["select", "--name", "../x", "--recipe", str(tmp_path / "r.json")]):
        out = subprocess.run([sys.executable, "-m", "core", *argv, "--workspace", str(ws.root)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, (argv, out.stdout, out.stderr)
        assert re.search(r"invalid (selection|export) name", out.stderr), (argv, out.stderr)
    assert not any(p.name == "x" for p in tmp_path.rglob("*"))


def test_recipes_are_read_as_data_never_as_code():
    from core.recipe import parse_recipe_text

    with pytest.raises(WinnowError):
        parse_recipe_text("!!python/object/apply:os.system ['echo pwned']")
