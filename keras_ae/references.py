"""Every published number keras_ae holds a measurement against, in one place.

The report, ``docs/results.md``, the README's headline block, the questions' tables and their
help texts read these values from here; nothing else in the package writes a published number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """A published number: ``value`` (with its ``std_error`` where the paper gives one) and where it
    comes from."""

    value: float
    source: str
    std_error: float | None = None

    def text(self, unit: str = "") -> str:
        """``340 +- 2 nats (AAE, Makhzani et al. 2015, Table 1)``."""
        error = f" +- {self.std_error:g}" if self.std_error is not None else ""
        return f"{self.value:g}{error}{' ' + unit if unit else ''} ({self.source})"


# Parzen-window log-likelihoods of the MNIST test digits (nats), as the papers' tables give them.
GAN_PARZEN = Reference(225.0, "GAN, Goodfellow et al. 2014, Table 1", 2.0)
GMMN_AE_PARZEN = Reference(282.0, "GMMN + AE, Li et al. 2015, in Makhzani et al. 2015, Table 1", 2.0)
AAE_PARZEN = Reference(340.0, "AAE, Makhzani et al. 2015, Table 1 (their 8-d prior)", 2.0)

# Average squared reconstruction error per MNIST test image, 30-d codes (Hinton & Salakhutdinov 2006).
HINTON2006_DEEP_AUTOENCODER = Reference(3.00, "Hinton & Salakhutdinov 2006 (RBM-pretrained)")
HINTON2006_PCA = Reference(13.87, "Hinton & Salakhutdinov 2006")

PARZEN_TABLE = (GAN_PARZEN, GMMN_AE_PARZEN, AAE_PARZEN)  # the rows E's Parzen table shows beside its own
