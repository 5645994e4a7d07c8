"""The ``counterfeit-vision`` command: one module per command group.

- ``main``: the parser, exit codes and the ``scan`` / ``index`` / ``brand`` commands' wiring;
- ``scan``, ``catalog``: the commands of scanning and of the index and brands;
- ``titles``: ``titles``; ``feedback``: ``feedback import|stats`` and ``train``.

Building the parser imports nothing heavy: each command imports what it needs when it runs.
"""
