"""Photo evidence: what a listing photo shows of the catalogue's brands.

- ``decode``: safe photo decoding (size limits, decompression bombs, reduced-size JPEG decode);
- ``regions``: region proposals (windows at several scales) and their embeddings;
- ``matcher``: ``ImageMatcher``, logos anywhere in a photo and reused official photos;
- ``geometry``: keypoint verification (RANSAC homography / similarity, copy test);
- ``keypoint_index``: one searchable FAISS index of many images' keypoints, and its on-disk cache;
- ``photo_reuse``: stolen official photos (embedding, pHash and keypoint proposals, copy test);
- ``phash``: perceptual hashes;
- ``photo_brands``: ``PhotoBrandFinder``, logo shape and names read by OCR combined per brand.
"""
