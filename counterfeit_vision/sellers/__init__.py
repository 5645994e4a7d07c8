"""Sellers as first-class: seller networks, seller risk, repeat offenders, test-buy targeting.

- :mod:`~counterfeit_vision.sellers.identifiers`: keyed hashes of contact/payment identifiers, store-name stems;
- :mod:`~counterfeit_vision.sellers.records`: a result joined with its listing's seller fields;
- :mod:`~counterfeit_vision.sellers.networks`: links (shared photos, identifiers, names) and networks;
- :mod:`~counterfeit_vision.sellers.risk`: the per-seller risk score and the fusion's seller cue;
- :mod:`~counterfeit_vision.sellers.storefront`: store names and shop URLs read for brand misuse;
- :mod:`~counterfeit_vision.sellers.testbuy`: which listings to buy to confirm counterfeits;
- :mod:`~counterfeit_vision.sellers.analysis`: files in, ``sellers.jsonl`` rows out.
"""

from counterfeit_vision.sellers.identifiers import hash_identifier, store_stem
from counterfeit_vision.sellers.networks import Link, NetworkConfig, SellerNetworks, build_networks, network_id
from counterfeit_vision.sellers.records import SellerListing, join_records
from counterfeit_vision.sellers.risk import RiskConfig, SellerCues, SellerRisk, Verdict, seller_risks
from counterfeit_vision.sellers.storefront import StorefrontFinding, check_storefront
from counterfeit_vision.sellers.testbuy import TestBuyConfig, TestBuyPick, rank_test_buys

__all__ = ["Link", "NetworkConfig", "RiskConfig", "SellerCues", "SellerListing", "SellerNetworks", "SellerRisk",
           "StorefrontFinding", "TestBuyConfig", "TestBuyPick", "Verdict", "build_networks", "check_storefront",
           "hash_identifier", "join_records", "network_id", "rank_test_buys", "seller_risks", "store_stem"]
