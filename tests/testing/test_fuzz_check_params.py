"""`envgen fuzz` makes each env once first: an env refusing the arguments its registration
gives, with no -p at all, is one clean error (review: it raised AttributeError on the
missing params, a traceback instead of the message)."""

from __future__ import annotations

import pytest

from envgen.testing._cli import EXIT_FAIL, _check_params


def test_an_env_refusing_its_registered_arguments_without_params_is_one_error(capsys) -> None:
    def make() -> None:
        raise TypeError("Env.__init__() got an unexpected keyword argument 'bogus'")

    with pytest.raises(SystemExit) as stopped:
        _check_params([("x/Y-v0", make)], None)
    assert stopped.value.code == EXIT_FAIL
    err = capsys.readouterr().err
    assert "x/Y-v0 cannot be made with its default params" in err
    assert "unexpected keyword argument 'bogus'" in err and "Traceback" not in err
