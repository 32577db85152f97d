"""synthgen: class-conditional synthetic data for medical tables and scans."""

__version__ = "0.1.0"
