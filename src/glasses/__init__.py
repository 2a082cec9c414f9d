"""glasses: decide whether a GAN-generated face wears glasses, as a Kubeflow pipeline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("glasses")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
