"""Brands' verdicts and sellers' appeals: the SQLite feedback store (``store``)."""
