"""srl-data: training data for Supervised Reinforcement Learning.

Library first: ``srl_data.split_steps.split_steps`` and friends do the work;
``srl_data.cli`` is a thin layer over them.
"""

__version__ = "0.1.0"
