"""Fashion-MNIST with PyTorch, as a gridsearch training program.

The job's optimizer (sgd, adam or rmsprop) and its parameters (lr, and for
sgd momentum and nesterov, for all weight_decay) come from gridsearch; so
do the seed and the budget. The network is a small multilayer perceptron;
the data are Debian's dataset-fashion-mnist package by default.

    python3 fashion_mnist.py [--data FOLDER] [--train-size N] [--batch-size N]

Run it by hand (outside a sweep) and it trains with SGD at lr 0.1 for 10 s.
"""
import argparse
import gzip
import os
import struct

import torch
import torch.nn.functional as F

import gridsearch  # put on the path by the worker (clients/python/gridsearch.py)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">i", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "i" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load(folder, split, limit=None):
    def find(name):
        for candidate in (name + ".gz", name):
            path = os.path.join(folder, candidate)
            if os.path.exists(path):
                return path
        raise SystemExit("fashion_mnist.py: %s not found in %s" % (name, folder))
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(find(prefix + "-images-idx3-ubyte"))
    labels = read_idx(find(prefix + "-labels-idx1-ubyte"))
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = images.reshape(len(images), -1).float() / 255.0
    return (x - 0.2860) / 0.3530, labels.long()


def make_optimizer(name, params, model):
    lr = float(params.get("lr", 0.1))
    decay = float(params.get("weight_decay", 0))
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=float(params.get("momentum", 0)),
                               nesterov=bool(params.get("nesterov", False)), weight_decay=decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=lr, weight_decay=decay)
    raise SystemExit("fashion_mnist.py: unknown optimizer %r (sgd, adam, rmsprop)" % name)


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    logits = torch.cat([model(x[i:i + 2000]) for i in range(0, len(x), 2000)])
    model.train()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train-size", type=int, default=0, help="first N images (0: all)")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()

    job = gridsearch.job(defaults={"lr": 0.1})
    if job.threads:
        torch.set_num_threads(job.threads)
    job.seed_generators()  # torch is imported: seed it before the weights are drawn
    train_x, train_y = load(args.data, "train", args.train_size or None)
    test_x, test_y = load(args.data, "test")
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    optimizer = make_optimizer(job.optimizer, job.params, model)
    generator = torch.Generator().manual_seed(job.seed)
    n = len(train_x)

    order, position = torch.randperm(n, generator=generator), 0
    for step in job.steps():  # the budget starts here and ends the loop
        if position + args.batch_size > n:
            order, position = torch.randperm(n, generator=generator), 0
        batch = order[position:position + args.batch_size]
        position += args.batch_size
        loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        job.report(step, value, epoch=step * args.batch_size / n,
                   learning_rate=optimizer.param_groups[0]["lr"])
        if value != value or value in (float("inf"), float("-inf")):
            break  # diverged: gridsearch records it as such

    train_loss, _ = evaluate(model, train_x, train_y)
    test_loss, test_accuracy = evaluate(model, test_x, test_y)
    job.result(final_train_loss=train_loss, test_loss=test_loss, test_accuracy=test_accuracy)


if __name__ == "__main__":
    main()
