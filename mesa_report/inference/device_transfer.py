"""Moving batches between host and device: pinned buffers and a copy stream on CUDA, no-ops on the CPU.

Examples
--------
>>> import torch
>>> transfer = DeviceTransfer(torch.device("cpu"))
>>> host = transfer.host_empty((2, 3), torch.float32)
>>> transfer.assemble([torch.ones(3), torch.zeros(3)], host)
>>> on_device, ready = transfer.upload(host)
>>> transfer.accept(on_device, ready).sum().item(), precision_of("cpu")
(3.0, 'fp32')
"""

from __future__ import annotations

import numpy as np
import torch


def precision_of(device: torch.device | str) -> str:
    """The arithmetic a model on ``device`` runs in: bf16 autocast on CUDA, float32 elsewhere.

    Examples
    --------
    >>> precision_of("cpu"), precision_of("cuda:0")
    ('fp32', 'bf16')
    """
    return "bf16" if torch.device(device).type == "cuda" else "fp32"


class DeviceTransfer:
    """Moves batches between host and device.

    On CUDA: host buffers in pinned memory, uploads on a stream of their own (so the copy of the
    next batch overlaps the model's work on this one) and downloads that do not block. On the
    CPU every call is a no-op on plain tensors, so both paths run the same code.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.copy_stream = torch.cuda.Stream(device) if self.cuda else None

    def host_empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return torch.empty(shape, dtype=dtype, pin_memory=self.cuda)

    def assemble(self, windows: list[torch.Tensor], out: torch.Tensor) -> None:
        """(loading thread) Copy ``windows`` into the batch ``out``.

        On CUDA with torch's CPU threads, which the model does not use there; on the CPU in this
        thread alone, since torch's threads are the model's (sharing them slows both badly).
        """
        if self.cuda:
            torch.stack(windows, out=out)
        else:
            np.stack([w.numpy() for w in windows], out=out.numpy())

    def upload(self, host: torch.Tensor):
        """(loading thread) Start copying ``host`` to the device; return it and its ready event."""
        if not self.cuda:
            return host, None
        with torch.cuda.stream(self.copy_stream):
            on_device = host.to(self.device, non_blocking=True)
            ready = torch.cuda.Event()
            ready.record(self.copy_stream)
        return on_device, ready

    def accept(self, on_device: torch.Tensor, ready) -> torch.Tensor:
        """(model thread) Make the compute stream wait for an upload before using it."""
        if ready is not None:
            stream = torch.cuda.current_stream(self.device)
            stream.wait_event(ready)
            on_device.record_stream(stream)  # its memory is not reused while this stream reads it
        return on_device

    def download(self, tensors: dict[str, torch.Tensor]):
        """Start copying ``tensors`` to the host; return the host tensors and a done event."""
        if not self.cuda:
            return tensors, None
        host = {name: self.host_empty(tuple(t.shape), t.dtype).copy_(t, non_blocking=True)
                for name, t in tensors.items()}
        done = torch.cuda.Event()
        done.record(torch.cuda.current_stream(self.device))
        return host, done

    @staticmethod
    def wait(done) -> None:
        if done is not None:
            done.synchronize()
