"""The order and the augmentation seeds of every epoch, from the run's seed alone, so a resumed run sees the same
batches as the run that never stopped."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

_MASK = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R, _XSHIFT, _POOL_SIZE = 0xCA01F9DD, 0x4973F715, 16, 4


def derive_seed(*numbers: int) -> int:
    """A 32-bit seed that is a function of ``numbers`` alone (e.g. run seed, epoch, index)."""
    return int(np.random.SeedSequence(list(numbers)).generate_state(1)[0])


def _words(number: int) -> list[int]:
    """The 32-bit words SeedSequence makes of a non-negative int, least significant first (0 is one word)."""
    words = [number & _MASK]
    number >>= 32
    while number:
        words.append(number & _MASK)
        number >>= 32
    return words


def derive_seeds(prefix: Sequence[int], last: Sequence[int] | np.ndarray) -> np.ndarray:
    """``derive_seed(*prefix, n)`` for every ``n`` in ``last``, in one pass of array operations: SeedSequence's hash
    of (prefix, n) computed for all ``n`` at once, so an epoch's seeds cost one call rather than one per example."""
    values = np.asarray(last, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() > _MASK):
        return np.array([derive_seed(*prefix, int(n)) for n in values], dtype=np.uint32)
    count = values.size
    entropy = [np.full(count, word, dtype=np.uint32) for number in prefix for word in _words(int(number))]
    entropy.append(values.astype(np.uint32))
    hash_const = _INIT_A

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal hash_const
        value = value ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_A) & _MASK
        value = value * np.uint32(hash_const)
        return value ^ (value >> np.uint32(_XSHIFT))

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y
        return result ^ (result >> np.uint32(_XSHIFT))

    zeros = np.zeros(count, dtype=np.uint32)
    pool = [hashmix(entropy[i] if i < len(entropy) else zeros) for i in range(_POOL_SIZE)]
    for source in range(_POOL_SIZE):
        for target in range(_POOL_SIZE):
            if source != target:
                pool[target] = mix(pool[target], hashmix(pool[source]))
    for source in range(_POOL_SIZE, len(entropy)):
        for target in range(_POOL_SIZE):
            pool[target] = mix(pool[target], hashmix(entropy[source]))
    # generate_state(1): the first pool word, hashed once more
    state = (pool[0] ^ np.uint32(_INIT_B)) * np.uint32((_INIT_B * _MULT_B) & _MASK)
    return state ^ (state >> np.uint32(_XSHIFT))


class EpochShuffleSampler(Sampler[tuple[int, int]]):
    """Shuffles by (seed, epoch) alone and gives each index its own augmentation seed (seed, epoch, index).

    The order and the augmentation of an epoch therefore do not depend on any random state that came before it,
    on the number of DataLoader workers, or on whether the run was resumed: a resumed run sees exactly the batches
    an uninterrupted run sees. Lightning calls ``set_epoch`` before each epoch. With a ``batch_size`` it yields
    lists of such pairs, one per batch (the last may be shorter), for datasets indexed a batch at a time.
    """

    def __init__(self, size: int, seed: int, batch_size: int | None = None) -> None:
        self.size, self.seed, self.epoch, self.batch_size = size, seed, 0, batch_size
        self._resume_at: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resume_within_epoch(self, epoch: int, samples_done: int) -> None:
        """Leave out the first ``samples_done`` samples of ``epoch``: they were trained on before a mid-epoch checkpoint."""
        self._resume_at = (epoch, samples_done)

    def __len__(self) -> int:
        return self.size if self.batch_size is None else -(-self.size // self.batch_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(derive_seed(self.seed, self.epoch))
        order = torch.randperm(self.size, generator=generator).tolist()
        if self._resume_at is not None and self._resume_at[0] == self.epoch:
            order = order[self._resume_at[1] :]
        keys = list(zip(order, derive_seeds((self.seed, self.epoch), order).tolist(), strict=True))
        if self.batch_size is None:
            yield from keys
        else:
            for start in range(0, len(keys), self.batch_size):
                yield keys[start : start + self.batch_size]
