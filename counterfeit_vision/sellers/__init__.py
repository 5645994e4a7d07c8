"""Sellers as first-class: seller networks, seller risk, repeat offenders, test-buy targeting.

- :mod:`~counterfeit_vision.sellers.identifiers`: keyed hashes of contact/payment identifiers, store-name stems;
- :mod:`~counterfeit_vision.sellers.records`: a result joined with its listing's seller fields;
- :mod:`~counterfeit_vision.sellers.networks`: links (shared photos, identifiers, names) and networks;
- :mod:`~counterfeit_vision.sellers.risk`: the per-seller risk score and the fusion's seller cue;
- :mod:`~counterfeit_vision.sellers.testbuy`: which listings to buy to confirm counterfeits.
"""

from counterfeit_vision.sellers.identifiers import hash_identifier, store_stem
from counterfeit_vision.sellers.networks import Link, NetworkConfig, SellerNetworks, build_networks, network_id
from counterfeit_vision.sellers.records import SellerListing, join_records

__all__ = ["Link", "NetworkConfig", "SellerListing", "SellerNetworks", "build_networks", "hash_identifier",
           "join_records", "network_id", "store_stem"]
