"""The brands' references as vectors: the FAISS index, onboarding and the few-shot heads.

- ``reference``: ``ReferenceIndex``, FAISS index + manifest, atomic save, verified load;
- ``onboarding``: brands in and out of an index, incrementally;
- ``augment``: augmented logo views made at onboarding;
- ``heads``: ``BrandHeads``, one logistic head per brand (scoring side);
- ``head_fitting``: fitting those heads at onboarding (feature banks, MIL, background bank).
"""
