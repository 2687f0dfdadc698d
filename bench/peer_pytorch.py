#!/usr/bin/env python3
"""The PyTorch peer of `crates/noisegd/examples/bench_case.rs`: one benchmark case per process.

It runs the official code's step (Orvieto et al., `main.py`, reconstructed in
shared/reference/paper.md §1.6): keep references to the clean tensors, replace each perturbed
`p.data` by `p.data + noise`, take the loss and its gradient at the perturbed point, put the clean
tensors back, and let SGD (momentum 0.9, lr 5e-3) step. `all` adds N(0, (σ/√M)²) to every tensor
(M = number of parameter tensors), `layer` adds N(0, σ²) to tensor `iter % M` (cyclic), σ = 0.05.
`--device cuda` runs it on the GPU, as the official code does.
It takes the same flags as the Rust case and prints the same JSON line, so bench/compare.py can
put them side by side. Written for noisegd; the models follow the official `models.py`.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MNISTNet1(nn.Module):
    """784-500-500-500-10 with log-softmax output, as the official code (then fed to
    CrossEntropyLoss: a double log-softmax, harmless since log-softmax is idempotent)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 500)
        self.fc2 = nn.Linear(500, 500)
        self.fc3 = nn.Linear(500, 500)
        self.fc4 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        return F.log_softmax(self.fc4(x), dim=1)


class MLP(nn.Module):
    """The official MNISTNet2/3 (and the paper's MLP 4): ReLU layers of the given widths,
    log-softmax output as MNISTNet1."""

    def __init__(self, widths):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return F.log_softmax(self.layers[-1](x), dim=1)


class BasicBlock(nn.Module):
    """kuangliu/pytorch-cifar's BasicBlock, as the official code imports it."""

    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or inp != out:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """kuangliu/pytorch-cifar's ResNet18 (3x3 stem, no max-pool), 11,173,962 parameters in 62
    tensors on CIFAR-10: the official code's Fig. 6 model, and noisegd's `resnet18`."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, inp = [], 64
        for out, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [BasicBlock(inp, out, stride), BasicBlock(out, out, 1)]
            inp = out
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(512, 10)

    def forward(self, x):
        out = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.linear(F.avg_pool2d(out, 4).flatten(1))


class LeNet(nn.Module):
    """The PyTorch-tutorial CNN (official CIFARCNN1), for 32x32x3 inputs."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class WideCNN(nn.Module):
    """Four 3x3 convolutions with ReLU and 2x2 max-pool, spatial mean, Linear(last, 10)
    (official CIFARCNN2 has channels 32-128-128-128; the paper's text says 32-64-128-128)."""

    def __init__(self, channels):
        super().__init__()
        chans = [3] + list(channels)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans, chans[1:]))
        self.fc = nn.Linear(chans[-1], 10)

    def forward(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return self.fc(x.mean(dim=(2, 3)))


class DiagonalNet(nn.Module):
    """Phi = X (w1*w1 - w2*w2), loss (1/2n)||y - Phi||^2, w1 = w2 = 0.1 at the start."""

    def __init__(self, d):
        super().__init__()
        self.w1 = nn.Parameter(torch.full((d,), 0.1))
        self.w2 = nn.Parameter(torch.full((d,), 0.1))

    def forward(self, x):
        return x @ (self.w1 * self.w1 - self.w2 * self.w2)


def pseudo_data(n):
    """The same deterministic values in [0, 1) as the Rust side."""
    i = torch.arange(n, dtype=torch.int64)
    return ((i * 7919) % 1000).to(torch.float32) / 1000.0


def build(args):
    if args.model == "mlp1":
        b = args.batch
        x = pseudo_data(b * 784).reshape(b, 784)
        y = torch.arange(b) % 10
        model = MNISTNet1()
        return f"mlp1 batch {b}", model, lambda: F.cross_entropy(model(x), y)
    if args.model in ("mlp2", "mlp3", "mlp4"):
        b = args.batch
        x = pseudo_data(b * 784).reshape(b, 784)
        y = torch.arange(b) % 10
        hidden = {"mlp2": [5000] * 3, "mlp3": [1000] * 5, "mlp4": [5000] * 5}[args.model]
        model = MLP([784] + hidden + [10])
        return f"{args.model} batch {b}", model, lambda: F.cross_entropy(model(x), y)
    if args.model in ("lenet", "widecnn", "widecnn_paper", "resnet18"):
        b = args.batch
        x = pseudo_data(b * 3 * 32 * 32).reshape(b, 3, 32, 32)
        y = torch.arange(b) % 10
        if args.model == "lenet":
            model = LeNet()
        elif args.model == "resnet18":
            model = ResNet18()
        elif args.model == "widecnn":
            model = WideCNN([32, 128, 128, 128])
        else:
            model = WideCNN([32, 64, 128, 128])
        return f"{args.model} batch {b}", model, lambda: F.cross_entropy(model(x), y)
    if args.model == "diag":
        n, d = args.n, args.d
        # Scaled by 1/sqrt(d) as in bench_case.rs, so that lr 5e-3 is stable at d = 10,000 (the
        # unscaled features made both sides diverge to inf/NaN within ~50 steps).
        x = pseudo_data(n * d).reshape(n, d) / d ** 0.5
        y = pseudo_data(n)
        model = DiagonalNet(d)
        return f"diag n {n} d {d}", model, lambda: ((model(x) - y) ** 2).sum() / (2 * n)
    raise SystemExit(f"peer_pytorch: --model: expected mlp1|mlp2|mlp3|mlp4|lenet|widecnn|widecnn_paper|resnet18|diag, found {args.model!r}")


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mlp1")
    p.add_argument("--policy", default="none", choices=["none", "all", "layer"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--d", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--sigma", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="cuda: the model, the data and the noise on the GPU (as noisegd's --device gpu)")
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # Every tensor and module below is created on the device (PyTorch >= 2.0).
    torch.set_default_device(args.device)
    cuda = args.device == "cuda"

    def sync():
        # CUDA runs asynchronously: a step's time is known once its kernels have finished
        # (noisegd reads each step's loss back, which waits for them too).
        if cuda:
            torch.cuda.synchronize()

    label, model, loss_fn = build(args)
    params = list(model.parameters())
    n_groups = len(params)
    opt = torch.optim.SGD(params, lr=5e-3, momentum=0.9)
    times = []
    for it in range(args.warmup + args.steps):
        sync()
        t = time.perf_counter()
        opt.zero_grad()
        if args.policy != "none":
            saved = [q.data for q in params]
            for i, q in enumerate(params):
                if args.policy == "all":
                    q.data = q.data + (args.sigma / math.sqrt(n_groups)) * torch.randn_like(q.data)
                elif i == it % n_groups:
                    q.data = q.data + args.sigma * torch.randn_like(q.data)
        loss = loss_fn()
        loss.backward()
        if args.policy != "none":
            for q, s in zip(params, saved):
                q.data = s
        opt.step()
        sync()
        if it >= args.warmup:
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()

    def q(p):
        return times[round((len(times) - 1) * p)]

    print(json.dumps({
        "impl": "pytorch", "case": label, "policy": args.policy,
        "median_ms": round(q(0.5), 4), "p25_ms": round(q(0.25), 4), "p75_ms": round(q(0.75), 4),
        "steps": len(times), "peak_mib": round(peak_rss_mib(), 1), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "device": args.device,
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "gpu_peak_allocated_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
    }))


if __name__ == "__main__":
    main()
