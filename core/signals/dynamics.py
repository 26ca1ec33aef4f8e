"""`dynamics`: training-dynamics scores (EL2N, forgetting, AUM, VoG) of a proxy classifier on labelled documents."""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from core.dynamics import DynamicsConfig, training_dynamics
from core.errors import WinnowError
from core.signals.base import Column, CorpusSignal, Params, register


class DynamicsParams(Params):
    epochs: int = Field(8, ge=2, le=100, description="training epochs per seed")
    early_epochs: int = Field(3, ge=1, le=100, description="EL2N is averaged over these first epochs")
    seeds: int = Field(3, ge=1, le=20, description="independent runs averaged together")
    hidden: int = Field(64, ge=2, le=4096, description="hidden units of the proxy MLP")
    lr: float = Field(0.01, gt=0, le=1, description="Adam learning rate")
    batch_size: int = Field(64, ge=1, le=65536)
    model: str | None = Field(None, description="embedding model to train on (default: the stored one)")


@register
class Dynamics(CorpusSignal):
    name = "dynamics"
    version = "1"
    description = ("Training dynamics of a small MLP trained on the embeddings of labelled documents: "
                   "hard, mislabelled and forgettable examples score high on EL2N, forgetting and VoG, low on AUM.")
    reference = ("Paul et al. 2021 (EL2N); Toneva et al. 2019 (forgetting); Pleiss et al. 2020 (AUM); "
                 "Agarwal et al. 2022 (VoG)")
    columns = (
        Column("el2n", "float", "‖softmax − one-hot(label)‖₂, mean over the early epochs and seeds", better="lower"),
        Column("forgetting", "float", "correct → wrong transitions between epochs (mean over seeds)", better="lower"),
        Column("never_learned", "bool", "never classified as its label in any epoch", kind="flag"),
        Column("aum", "float", "area under the margin: assigned logit − largest other, mean over epochs",
               better="higher"),
        Column("vog", "float", "variance of input gradients across checkpoints, normalised within each class",
               better="lower"),
    )
    needs = frozenset({"text", "labels", "embeddings"})
    Params = DynamicsParams
    cost = "heavy"

    def compute_corpus(self, ctx, progress):
        p = self.params
        labels = ctx.labels()
        labels = labels[labels["label"].notna()]
        has, X = ctx.embeddings_for(labels["id"], p.model)
        labels = labels[has]
        classes = sorted(labels["label"].astype(str).unique())
        if len(classes) < 2:
            raise WinnowError("dynamics needs at least two distinct labels to train a classifier")
        y = labels["label"].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
        cfg = DynamicsConfig(epochs=p.epochs, early_epochs=min(p.early_epochs, p.epochs), seeds=p.seeds,
                             hidden=p.hidden, lr=p.lr, batch_size=p.batch_size)
        scores = training_dynamics(X, y, cfg, progress)
        scores.insert(0, "id", labels["id"].astype(str).to_numpy())
        self.sidecar_extra = {
            "labelled_documents": len(labels), "classes": classes, "proxy": f"MLP {X.shape[1]}-{p.hidden}-{len(classes)}",
            "never_learned": int(scores["never_learned"].sum()),
        }
        # unlabelled documents (or ones without an embedding) get nulls
        return scores.set_index("id").reindex(pd.Index(ctx.ids(), name="id")).reset_index()
