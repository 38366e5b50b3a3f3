#!/usr/bin/env python3
"""Peer reference: time one SinGAN training iteration of one scale in PyTorch (CPU).

This is an independent PyTorch rendering of the per-scale loop described in
docs/ALGORITHM.md (3 critic steps with WGAN-GP double backward, 3 generator
steps with adversarial + reconstruction loss). It does not run the frozen
coarser scales (their cost is small next to the current scale's), so compare it
with the same quantity from your engine: seconds per iteration at one scale.

Setup (once):  python3 -m pip install "torch==2.13.0+cpu"   (or any CPU torch)
Run:           python3 tools/torch_reference_bench.py --height 186 --width 248 --nfc 128
Prints one JSON line: {"height":..,"width":..,"nfc":..,"threads":..,"s_per_iter_median":..}
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))


class Generator(nn.Module):
    def __init__(self, nfc):
        super().__init__()
        self.net = nn.Sequential(block(3, nfc), block(nfc, nfc), block(nfc, nfc), block(nfc, nfc),
                                 nn.Conv2d(nfc, 3, 3), nn.Tanh())

    def forward(self, x, y):
        return self.net(x) + y[:, :, 5:-5, 5:-5]


class Critic(nn.Module):
    def __init__(self, nfc):
        super().__init__()
        self.net = nn.Sequential(block(3, nfc), block(nfc, nfc), block(nfc, nfc), block(nfc, nfc),
                                 nn.Conv2d(nfc, 1, 3))

    def forward(self, x):
        return self.net(x)


def gradient_penalty(critic, real, fake, weight=0.1):
    a = torch.rand(1, 1).expand_as(real)
    xh = (a * real + (1 - a) * fake).requires_grad_(True)
    out = critic(xh)
    g, = torch.autograd.grad(out, xh, grad_outputs=torch.ones_like(out), create_graph=True)
    return ((g.norm(2, dim=1) - 1) ** 2).mean() * weight


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--height", type=int, default=186)
    p.add_argument("--width", type=int, default=248)
    p.add_argument("--nfc", type=int, default=128)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    h, w = a.height, a.width
    pad = nn.ZeroPad2d(5)
    G, D = Generator(a.nfc), Critic(a.nfc)
    optG = torch.optim.Adam(G.parameters(), lr=5e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=5e-4, betas=(0.5, 0.999))
    real = torch.rand(1, 3, h, w) * 2 - 1
    rec_prev = pad(torch.rand(1, 3, h, w) * 2 - 1)
    sigma = 0.1

    def iteration():
        noise = pad(torch.randn(1, 3, h, w))
        for _ in range(3):
            prev = pad(torch.rand(1, 3, h, w) * 2 - 1)  # stands for rand(n) of the frozen scales
            D.zero_grad()
            fake = G(sigma * noise + prev, prev)
            loss = -D(real).mean() + D(fake.detach()).mean() + gradient_penalty(D, real, fake.detach())
            loss.backward()
            optD.step()
        for _ in range(3):
            G.zero_grad()
            fake = G(sigma * noise + prev, prev)
            rec = G(rec_prev, rec_prev)
            loss = -D(fake).mean() + 10 * ((rec - real) ** 2).mean()
            loss.backward()
            optG.step()

    for _ in range(a.warmup):
        iteration()
    times = []
    for _ in range(a.iters):
        t = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - t)
    print(json.dumps({"height": h, "width": w, "nfc": a.nfc, "threads": a.threads,
                      "s_per_iter_median": round(statistics.median(times), 4),
                      "s_per_iter_min": round(min(times), 4)}))


if __name__ == "__main__":
    main()
