#!/usr/bin/env python3
"""eager_baseline: images per second of a plain PyTorch (Python, eager)
training loop, the baseline that the C++ trainer is measured against
(tests/bench/train_throughput prints the trainer's figure for the same
model, optimizer, batch and device).

The networks are written here again, layer for layer as models/resnet.cc,
models/vgg.cc and models/densenet.cc build them (pre-activation ResNet-32,
VGG-16 with batch norm and the 512-wide CIFAR head, DenseNet-40 with k = 12),
and the script checks their parameter counts against the ones the C++ code
has (models/ and tests/networks_test.cc) before it measures anything.

The loop is what a researcher would write: CIFAR-shaped uint8 images resident
on the device, a batch cut by index, scaled and centred, zero_grad, forward,
cross entropy, backward, update. SGD is torch.optim.SGD with momentum; PAL is
a direct transcription of the papers' step (Mutschler and Zell, "PAL: A fast
DNN optimization method based on curvature information", 2019, and
"Parabolic Approximation Line Search for DNNs", NeurIPS 2020) in tensor
arithmetic, with no host synchronisation inside a step, as optimizers/pal.h
does on a GPU. cuDNN's benchmark mode is on, as in the trainer.

usage: eager_baseline.py [--device cuda|cpu] [--models resnet32,vgg16,densenet40]
           [--optimizers sgd,pal] [--batch 100,128] [--seconds 5] [--warmup 10]
           [--threads N] [--json FILE]

Prints one line per (model, optimizer, batch): images per second and
milliseconds per step, the best of --rounds timed windows.
"""

import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# Parameter counts of the C++ networks for 3x32x32 inputs and 10 classes
# (`gridsearch models` lists them; tests/networks_test.cc checks them against
# the published figures).
EXPECTED_PARAMETERS = {"resnet32": 466714, "vgg16": 14987722, "densenet40": 1019722}


def conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)


def init_weights(net, normal_linear):
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if normal_linear:
                nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class PreActUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = conv(cin, cout, 3, stride)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = conv(cout, cout, 3)
        self.projection = conv(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        shortcut = self.projection(pre) if self.projection is not None else x
        return self.conv2(F.relu(self.bn2(self.conv1(pre)))) + shortcut


class BnRelu(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn(x))


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def resnet32(classes=10):
    layers, cin = [conv(3, 16, 3)], 16
    for stage, width in enumerate((16, 32, 64)):
        for unit in range(5):
            layers.append(PreActUnit(cin, width, 2 if stage > 0 and unit == 0 else 1))
            cin = width
    layers += [BnRelu(cin), GlobalAvgPool(), nn.Linear(cin, classes)]
    net = nn.Sequential(*layers)
    init_weights(net, normal_linear=False)
    return net


def vgg16(classes=10):
    config = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"]
    layers, cin = [], 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [conv(cin, v, 3), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            cin = v
    layers += [GlobalAvgPool(), nn.Linear(cin, 512), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
               nn.Linear(512, classes)]
    net = nn.Sequential(*layers)
    init_weights(net, normal_linear=True)
    return net


class BnReluConv(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = conv(cin, cout, k)

    def forward(self, x):
        return self.conv(F.relu(self.bn(x)))


class DenseBlock(nn.Module):
    def __init__(self, cin, layers, growth):
        super().__init__()
        self.layers = nn.ModuleList(BnReluConv(cin + i * growth, growth, 3) for i in range(layers))

    def forward(self, x):
        for layer in self.layers:
            x = torch.cat([x, layer(x)], 1)
        return x


def densenet40(classes=10):
    growth, per_block, width = 12, 12, 16
    layers = [conv(3, width, 3)]
    for block in range(3):
        layers.append(DenseBlock(width, per_block, growth))
        width += per_block * growth
        if block < 2:
            layers += [BnReluConv(width, width, 1), nn.AvgPool2d(2)]
    layers += [BnRelu(width), GlobalAvgPool(), nn.Linear(width, classes)]
    net = nn.Sequential(*layers)
    init_weights(net, normal_linear=False)
    return net


MODELS = {"resnet32": resnet32, "vgg16": vgg16, "densenet40": densenet40}


class PAL:
    """One PAL step per call, from the papers' formulas: l(0) and the
    gradient, the search vector d = g + momentum * d_prev, l(mu) at
    theta - mu * d / ||d||, the parabola through them with slope -||d||, and
    the update to its minimum (clipped at max_step), mu, or none. The case
    discrimination is tensor arithmetic, so nothing waits for the device."""

    def __init__(self, params, measuring_step=0.1, max_step=1.0, momentum=0.4,
                 loose_approximation=0.6, epsilon=1e-10):
        self.params = list(params)
        self.mu, self.s_max, self.beta = measuring_step, max_step, momentum
        self.lam, self.eps = loose_approximation, epsilon
        self.d = [torch.zeros_like(p) for p in self.params]

    def step(self, closure):
        cuda = self.params[0].is_cuda
        rng = torch.cuda.get_rng_state() if cuda else torch.get_rng_state()
        for p in self.params:
            p.grad = None
        with torch.enable_grad():
            loss0 = closure()
            loss0.backward()
        with torch.no_grad():
            grads = [p.grad for p in self.params]
            torch._foreach_mul_(self.d, self.beta)
            torch._foreach_add_(self.d, grads)
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(self.d)))
            inv_norm = 1.0 / torch.clamp(norm, min=self.eps)
            # To the measuring point theta - mu * d / ||d||.
            torch._foreach_add_(self.params, torch._foreach_mul(self.d, -self.mu * inv_norm))
            if cuda:
                torch.cuda.set_rng_state(rng)
            else:
                torch.set_rng_state(rng)
            loss_mu = closure()
            b = -norm
            a = (loss_mu - loss0.detach() - b * self.mu) / (self.mu * self.mu)
            minimum = torch.clamp(-b / (2 * self.lam * torch.clamp(a, min=1e-30)), max=self.s_max)
            s = torch.where(a > 0, minimum, torch.full_like(a, min(self.mu, self.s_max)))
            finite = torch.isfinite(loss0) & torch.isfinite(loss_mu) & torch.isfinite(a)
            s = torch.where(finite & (norm > self.eps), s, torch.zeros_like(s))
            # From the measuring point to theta - s * d / ||d||.
            torch._foreach_add_(self.params, torch._foreach_mul(self.d, (self.mu - s) * inv_norm))
        return loss0.detach()


def count_parameters(net):
    return sum(p.numel() for p in net.parameters())


def measure(name, optimizer, batch, device, seconds, warmup, rounds):
    torch.manual_seed(1)
    net = MODELS[name]().to(device)
    net.train()
    batches = 10
    images = torch.randint(0, 256, (batches * batch, 3, 32, 32), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (batches * batch,), device=device)
    mean = images[: 4 * batch].float().mul(1 / 255).mean(0, keepdim=True)
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = PAL(net.parameters())
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def train_step(i):
        start = (i % batches) * batch
        x = images[start:start + batch].float().mul_(1 / 255).sub_(mean)
        y = labels[start:start + batch]
        if optimizer == "sgd":
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
        else:
            opt.step(lambda: F.cross_entropy(net(x), y))

    for i in range(warmup):
        train_step(i)
    sync()
    best = float("inf")
    step = warmup
    for _ in range(rounds):
        n = 0
        start = time.perf_counter()
        while True:
            for _ in range(8):
                train_step(step)
                step += 1
                n += 1
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = min(best, elapsed / n)
    return {"model": name, "optimizer": optimizer, "batch": batch, "device": str(device),
            "seconds_per_step": best, "images_per_second": batch / best}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", default="resnet32,vgg16,densenet40")
    parser.add_argument("--optimizers", default="sgd,pal")
    parser.add_argument("--batch", default="100,128")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("eager_baseline: --device %s, but this PyTorch sees no CUDA device" % args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            sys.exit("eager_baseline: unknown model '%s' (known: %s)" % (m, ", ".join(MODELS)))
        count = count_parameters(MODELS[m]())
        if count != EXPECTED_PARAMETERS[m]:
            sys.exit("eager_baseline: %s has %d parameters here, the C++ network %d" %
                     (m, count, EXPECTED_PARAMETERS[m]))
    optimizers = [o for o in args.optimizers.split(",") if o]
    for o in optimizers:
        if o not in ("sgd", "pal"):
            sys.exit("eager_baseline: unknown optimizer '%s' (known: sgd, pal)" % o)
    batches = [int(b) for b in args.batch.split(",") if b]

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print("# eager PyTorch %s on %s (%s), best of %d windows of %.1f s" %
          (torch.__version__, device, name, args.rounds, args.seconds))
    print("%-11s %-4s %5s %12s %10s" % ("model", "opt", "batch", "images/s", "ms/step"))
    results = []
    for m in models:
        for o in optimizers:
            for b in batches:
                r = measure(m, o, b, device, args.seconds, args.warmup, args.rounds)
                results.append(r)
                print("%-11s %-4s %5d %12.1f %10.3f" %
                      (m, o, b, r["images_per_second"], 1000 * r["seconds_per_step"]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "device": str(device), "device_name": name,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
