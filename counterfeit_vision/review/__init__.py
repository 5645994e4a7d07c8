"""The review app: brands' reviewers judge the listings referred to them (``counterfeit-vision review``).

``queue`` is the queue itself (results of one brand, verdicts into the feedback store), free of
any web framework; ``app`` serves it with FastAPI (imported only there, so the scoring path
never loads a web framework).
"""

from counterfeit_vision.review.queue import QueueItem, ReviewQueue

__all__ = ["QueueItem", "ReviewQueue"]
