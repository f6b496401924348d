"""SGD on a least-squares problem, standard library only: a training program
for gridsearch's program tests.

The data (A, b) are fixed; the job's seed sets the initial weights and the
order of the minibatches, so the same seed gives the same curve. Parameters:
lr (a number), schedule ("constant" or "inverse": lr / (1 + step / 50)),
steps (the most steps, default 300), step_seconds (a pause after each step, so
that a job lasts long enough to be watched; default 0).
"""
import random
import time

import gridsearch

ROWS, COLS, BATCH = 64, 4, 8


def data():
    rng = random.Random(20191)
    x_true = [rng.uniform(-1, 1) for _ in range(COLS)]
    a = [[rng.gauss(0, 1) for _ in range(COLS)] for _ in range(ROWS)]
    b = [sum(ai * xi for ai, xi in zip(row, x_true)) + rng.gauss(0, 0.1) for row in a]
    return a, b


def loss(w, a, b, rows):
    return sum((sum(ai * wi for ai, wi in zip(a[r], w)) - b[r]) ** 2 for r in rows) / len(rows)


def main():
    job = gridsearch.job(defaults={"lr": 0.05, "schedule": "constant"})
    lr = float(job.params["lr"])
    schedule = job.params.get("schedule", "constant")
    pause = float(job.params.get("step_seconds", 0))
    a, b = data()
    w = [random.gauss(0, 1) for _ in range(COLS)]  # seeded by the helper
    order = []
    for step in job.steps(max_steps=int(job.params.get("steps", 300))):
        if not order:
            order = list(range(ROWS))
            random.shuffle(order)
        rows, order = order[:BATCH], order[BATCH:]
        batch_loss = loss(w, a, b, rows)
        rate = lr if schedule == "constant" else lr / (1 + step / 50)
        grad = [0.0] * COLS
        for r in rows:
            err = sum(ai * wi for ai, wi in zip(a[r], w)) - b[r]
            for i in range(COLS):
                grad[i] += 2 * err * a[r][i] / len(rows)
        w = [wi - rate * gi for wi, gi in zip(w, grad)]
        job.report(step, batch_loss, epoch=step * BATCH / ROWS, learning_rate=rate)
        if pause > 0:
            time.sleep(pause)
    job.result(final_train_loss=loss(w, a, b, range(ROWS)))


if __name__ == "__main__":
    main()
