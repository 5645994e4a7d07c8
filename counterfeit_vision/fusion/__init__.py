"""From evidence to a decision: per-brand cues, fusion, decisions and reviewer evidence.

- ``cues``: ``BrandCues``, the per-brand attribution and illegitimacy cues;
- ``evidence``: cues and reviewer evidence built from a listing's findings;
- ``handset``: the hand-set noisy-or fusion, the ``FusionModel`` protocol and ``decide``;
- ``learned``: a learned, calibrated fusion model loaded from JSON;
- ``calibration``: isotonic calibration, ECE, precision bounds and threshold selection;
- ``fitting``: fitting a learned model from labelled feedback (used by ``train``);
- ``operating_points``: where logo and text scores meet the fusion's levels (saved in the index manifest);
- ``operating_fit``: fitting them for a target false-alarm rate (not on the scoring path).
"""
