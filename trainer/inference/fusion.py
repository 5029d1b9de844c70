"""CPU only: fuse ``conv -> PReLU`` and ``conv + residual`` into single oneDNN calls (torch.fx rewrite).

In eager PyTorch every activation and every residual ``x + block(x)`` is a separate pass over a
feature map, and an out-of-place add allocates a new one. oneDNN can apply both inside the
convolution (post-ops); PyTorch exposes that as ``torch.ops.mkldnn._convolution_pointwise``, the op
``torch.compile`` emits for the same fusion. Calling it directly gets the fusion without
``torch.compile``'s minute-long compilation per input size.

The op is private API: :func:`fuse_for_cpu` returns None when it is missing or the model cannot be
traced, and :func:`trainer.inference.optimize.prepare_for_inference` keeps the result only when it
reproduces the unfused model on a probe.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import fx, nn


def available() -> bool:
    """Whether this PyTorch build has the fused oneDNN convolution."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class FusedConv(nn.Module):
    """``conv`` followed by an optional unary post-op (leaky_relu with a slope, or relu) and an
    optional residual ``other`` added to the result (then the post-op, if any, is applied first)."""

    def __init__(self, conv: nn.Conv2d, unary: str = "none", slope: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(conv.weight.detach().clone(), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        self.padding = list(conv.padding)
        self.stride = list(conv.stride)
        self.dilation = list(conv.dilation)
        self.groups = conv.groups
        self.unary = unary
        self.scalars = [slope] if unary == "leaky_relu" else []

    def forward(self, x: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
        args = (self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups)
        if other is None:
            return torch.ops.mkldnn._convolution_pointwise(x, *args, self.unary, self.scalars, "")
        if self.unary != "none":  # oneDNN's order would be conv -> add -> unary; ours is conv -> unary -> add
            return torch.ops.mkldnn._convolution_pointwise(x, *args, self.unary, self.scalars, "") + other
        return torch.ops.mkldnn._convolution_pointwise.binary(x, other, *args, "add", 1.0, None, [], None)


def _slope(node: fx.Node, modules: dict[str, nn.Module]) -> tuple[str, float] | None:
    """The unary post-op a node computes, if it is one we can fuse."""
    if node.op == "call_module":
        m = modules[node.target]
        if isinstance(m, nn.PReLU) and m.num_parameters == 1:
            return "leaky_relu", float(m.weight.detach().reshape(-1)[0])
        if isinstance(m, nn.ReLU):
            return "relu", 0.0
        if isinstance(m, nn.LeakyReLU):
            return "leaky_relu", float(m.negative_slope)
        return None
    if node.op == "call_function" and node.target in (F.leaky_relu, F.leaky_relu_) and len(node.args) >= 2:
        return "leaky_relu", float(node.args[1])
    if node.op == "call_function" and node.target in (F.relu, torch.relu, torch.relu_):
        return "relu", 0.0
    return None


class _Tracer(fx.Tracer):
    """Keeps our in-place PReLU a call to ``F.leaky_relu_`` and every other module traced through."""


def fuse_for_cpu(model: nn.Module) -> nn.Module | None:
    """A traced copy of ``model`` with conv+activation and conv+residual fused; None if not possible."""
    if not available():
        return None
    try:
        gm = fx.GraphModule(model, _Tracer().trace(model))
    except Exception:  # noqa: BLE001 - any untraceable model simply stays unfused
        return None
    modules = dict(gm.named_modules())
    graph = gm.graph
    for node in list(graph.nodes):  # drop Identity (left behind by BatchNorm folding)
        if node.op == "call_module" and isinstance(modules[node.target], nn.Identity):
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
    count = 0
    for node in list(graph.nodes):
        if node.op != "call_module" or not isinstance(modules.get(node.target), nn.Conv2d):
            continue
        conv = modules[node.target]
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str) or len(node.users) != 1:
            continue
        user = next(iter(node.users))
        name = f"fused_{count}"
        act = _slope(user, modules)
        if act is not None:
            gm.add_submodule(name, FusedConv(conv, *act))
            with graph.inserting_before(user):
                new = graph.call_module(name, (node.args[0],))
            user.replace_all_uses_with(new)
            graph.erase_node(user)
            graph.erase_node(node)
            count += 1
        elif (
            user.op == "call_function" and user.target in (operator.add, torch.add) and len(user.args) == 2
            and not user.kwargs and all(isinstance(a, fx.Node) for a in user.args)
        ):
            other = user.args[1] if user.args[0] is node else user.args[0]
            if other is node:
                continue
            gm.add_submodule(name, FusedConv(conv))
            with graph.inserting_before(user):
                new = graph.call_module(name, (node.args[0], other))
            user.replace_all_uses_with(new)
            graph.erase_node(user)
            graph.erase_node(node)
            count += 1
    if not count:
        return None
    graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm
