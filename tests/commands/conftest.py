"""Fixtures the command tests share with the module tests that define them."""

from tests.data.test_sources import faulty_data  # noqa: F401
from tests.test_export import runs  # noqa: F401
from tests.test_predict import conv_run  # noqa: F401
