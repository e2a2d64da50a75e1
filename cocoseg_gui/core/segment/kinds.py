"""The promptable segmenters we know, by name: plain data, importable without torch (CLI help, dialogs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SamKind:
    """One architecture: ``name`` is what the package's registry calls it, ``package`` what to install."""

    name: str
    label: str
    package: str  # the import that builds it
    supported: bool = True

    def __str__(self) -> str:
        return self.label


VIT_B = SamKind("vit_b", "SAM ViT-B", "segment_anything")
VIT_L = SamKind("vit_l", "SAM ViT-L", "segment_anything")
VIT_H = SamKind("vit_h", "SAM ViT-H", "segment_anything")
MOBILE_SAM = SamKind("vit_t", "MobileSAM (TinyViT)", "mobile_sam")
SAM2 = SamKind("sam2", "SAM 2 (Hiera)", "sam2", supported=False)

SUPPORTED = (MOBILE_SAM, VIT_B, VIT_L, VIT_H)
# the pip extra that brings the packages (pyproject.toml); named in every "not installed" message
EXTRA_HINT = (
    "install the optional extra: pip install 'cocoseg-gui[sam]' (segment-anything, mobilesam-mirror, timm)"
)
SAM2_REFUSAL = (
    "SAM 2 weights are recognised but not supported yet: the only PyPI upload of `sam2` is a third "
    "party's source package that needs a compiler switch (ADR 0038); use SAM (ViT-B/L/H) or MobileSAM weights"
)
