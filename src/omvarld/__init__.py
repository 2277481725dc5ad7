"""omvarld: stakeholder intelligence (omvärldsbevakning) for Malmö stad."""

__version__ = "0.1.0"
