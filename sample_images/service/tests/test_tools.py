import pytest
from agent_service.tools import calculator


def test_calculator_arithmetic():
    assert calculator("2 * (3 + 4)") == "14"
    assert calculator("-2 ** 2") == "-4"


def test_calculator_refuses_code():
    with pytest.raises(ValueError):
        calculator("__import__('os').system('id')")
