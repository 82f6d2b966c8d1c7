import numpy as np
import pytest

from physnn.sequences import windows


def course_format_data(data, length):
    """The course's loop: sample i is data[i:i+length] -> data[i+length]."""
    X, y = [], []
    for i in range(len(data) - length):
        X.append(data[i : i + length])
        y.append(data[i + length])
    return np.array(X), np.array(y)


def test_one_dimensional_series_matches_the_course_loop():
    series = np.linspace(-1.0, 2.0, 20) ** 2
    X, y = windows(series, 4)
    assert X.shape == (16, 4, 1) and y.shape == (16, 1)
    X_ref, y_ref = course_format_data(series, 4)
    np.testing.assert_array_equal(X[:, :, 0], X_ref)
    np.testing.assert_array_equal(y[:, 0], y_ref)
    assert y[-1, 0] == series[-1]  # the last step is used as a target


def test_exact_length_series_gives_one_sample():
    X, y = windows([1.0, 2.0, 3.0], 2)
    np.testing.assert_array_equal(X, [[[1.0], [2.0]]])
    np.testing.assert_array_equal(y, [[3.0]])
    X, y = windows(np.arange(5.0), 3, horizon=2)
    assert X.shape == (1, 3, 1) and y.shape == (1, 2, 1)
    np.testing.assert_array_equal(y[0, :, 0], [3.0, 4.0])


def test_multi_feature_series():
    series = np.stack([np.arange(10.0), -np.arange(10.0)], axis=1)  # [10, 2]
    X, y = windows(series, 3)
    assert X.shape == (7, 3, 2) and y.shape == (7, 2)
    np.testing.assert_array_equal(X[2], series[2:5])
    np.testing.assert_array_equal(y[2], series[5])


def test_horizon_targets_follow_the_window():
    series = np.arange(30.0).reshape(15, 2)
    X, y = windows(series, 4, horizon=3)
    n = 15 - 4 - 3 + 1
    assert X.shape == (n, 4, 2) and y.shape == (n, 3, 2)
    for i in range(n):
        np.testing.assert_array_equal(X[i], series[i : i + 4])
        np.testing.assert_array_equal(y[i], series[i + 4 : i + 7])
    assert y[-1, -1, -1] == series[-1, -1]


def test_returns_copies_and_float_dtype():
    series = np.arange(8)
    X, y = windows(series, 2)
    assert X.dtype == y.dtype == np.float64
    X[0, 0, 0] = 99.0
    assert series[0] == 0
    floats = np.arange(8, dtype=np.float32)
    X, _ = windows(floats, 2)
    assert X.dtype == np.float32
    X[0, 0, 0] = 99.0
    assert floats[0] == 0.0 and windows(floats, 2).X[1, 0, 0] == 1.0  # windows do not share memory


def test_accepts_lists_and_numpy_integers():
    X, y = windows([[1, 2], [3, 4], [5, 6]], np.int64(1), horizon=np.int32(1))
    assert X.shape == (2, 1, 2) and y.shape == (2, 2)


@pytest.mark.parametrize(
    "series, length, horizon, match",
    [
        (
            np.arange(4.0),
            4,
            1,
            r"series has 4 time steps; windows of length=4 with horizon=1 need at least "
            r"length \+ horizon = 5",
        ),
        (np.arange(5.0), 3, 3, "need at least length \\+ horizon = 6"),
        (np.arange(5.0), 0, 1, "length must be an integer >= 1, received 0"),
        (np.arange(5.0), 2, 0, "horizon must be an integer >= 1, received 0"),
        (np.arange(5.0), 2.5, 1, "length must be an integer >= 1, received 2.5"),
        (np.arange(5.0), True, 1, "length must be an integer >= 1, received True"),
        (np.array([0.0, 1.0, np.nan, 3.0, 4.0]), 2, 1, r"NaN or inf at time steps \[2\]"),
        (np.array([0.0, 1.0, 2.0, np.inf]), 2, 1, r"NaN or inf at time steps \[3\]"),
        (np.zeros((5, 2, 2)), 2, 1, r"shape \[T\] or \[T, features\], received shape \(5, 2, 2\) \(ndim 3\)"),
        (np.float64(3.0), 1, 1, r"received shape \(\) \(ndim 0\)"),
        (np.zeros((5, 0)), 2, 1, "no features"),
        (np.array(["a", "b", "c"]), 1, 1, "real numbers"),
        (np.array([True, False, True]), 1, 1, "real numbers"),
    ],
)
def test_errors_name_the_problem(series, length, horizon, match):
    with pytest.raises(ValueError, match=match):
        windows(series, length, horizon)
