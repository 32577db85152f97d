"""One optimizer step of the tabular GAN: critic update(s), auxiliary classifier, generator.

The step owns the losses (WGAN-GP, the condition cross-entropy, and the optional auxiliary-
classifier, information and correlation terms); ``trainer.train_gan`` owns everything around it
(budget, rounds, scoring, checkpoints).
"""

from __future__ import annotations

import torch
from torch import nn

from synthgen.models.tabular.networks import gradient_penalty
from synthgen.models.tabular.sampler import ConditionCoder, Conditions


class TrainingStep:
    """One WGAN-GP step: ``discriminator_steps`` critic updates, then one generator update.

    Under DDP each wrapper runs exactly one forward per backward, the pattern DDP's gradient
    averaging expects: the critic's real+fake scores in one call, the fakes for the critic made
    without autograd. The gradient penalty (a double backward) and the generator's adversarial
    term go through the plain critic: their parameter gradients still land in the same
    backward, where DDP's hooks average them, and no second DDP forward is left hanging.
    """

    def __init__(self, parts, sampler, real, layout, model, batch, generator, amp=None):
        self.parts, self.sampler, self.real, self.layout = parts, sampler, real, layout
        self.coder: ConditionCoder = sampler.coder
        self.model, self.batch, self.rng = model, batch, generator
        self.device = real.scalars.device
        self.amp = amp  # autocast dtype of the networks' forward passes (None: fp32)

    def _autocast(self):
        """The networks' matmuls in ``amp``; activations, losses and the penalty's norm stay fp32."""
        return torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None)

    def __call__(self) -> dict[str, torch.Tensor]:
        for _ in range(self.model.discriminator_steps):
            loss_d, penalty, real_rows, real_classes = self._critic_step()
        out = {"loss_d": loss_d, "gradient_penalty": penalty}
        if self.parts.classifier is not None:
            out["aux_real"] = self._classifier_step(real_rows, real_classes)
        out |= self._generator_step(out.get("aux_real"))
        self.parts.update_ema()
        return out

    def _fake(self, cond: Conditions) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.coder.encode(cond)
        z = torch.randn(self.batch, self.model.embedding_dim, generator=self.rng, device=self.device)
        with self._autocast():
            raw = self.parts.train_generator(torch.cat([z, c], dim=1)).float()
        return raw, self.layout.activate(raw, self.rng), c

    def _critic_step(self):
        p = self.parts
        cond, _ = self.sampler.draw(self.batch, self.rng)
        with torch.no_grad():  # the critic's update needs no generator gradients
            _, fake, c_fake = self._fake(cond)
        # Real rows for the same conditions in another order: packs mix conditions alike.
        perm = torch.randperm(self.batch, generator=self.rng, device=self.device)
        cond_real = Conditions(cond.classes[perm], cond.column[perm], cond.value[perm])
        rows = self.sampler.rows_for(cond_real, self.rng)
        cond_real.classes = self.sampler.classes[rows]
        real_rows = self.real.dense(self.layout, rows)
        real = torch.cat([real_rows, self.coder.encode(cond_real)], dim=1)
        fake = torch.cat([fake, c_fake], dim=1)
        # Fake packs first, then real ones: whole packs, as the batch is a multiple of pac.
        with self._autocast():
            scores = p.train_critic(torch.cat([fake, real])).float()
            penalty = gradient_penalty(p.critic, real, fake, self.model.pac, self.rng)
        packs = self.batch // self.model.pac
        loss_d = scores[:packs].mean() - scores[packs:].mean()
        p.opt_d.zero_grad(set_to_none=True)
        (loss_d + self.model.gp_weight * penalty).backward()
        p.opt_d.step()
        return loss_d, penalty, real_rows, cond_real.classes

    def _classifier_step(self, rows: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """One update of the auxiliary classifier on the critic's real rows."""
        p = self.parts
        with self._autocast():
            loss = nn.functional.cross_entropy(p.train_classifier(rows).float(), classes)
        p.opt_c.zero_grad(set_to_none=True)
        loss.backward()
        p.opt_c.step()
        return loss

    def _generator_step(self, aux_real: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        p, m = self.parts, self.model
        cond, rows = self.sampler.draw(self.batch, self.rng)
        raw, fake, c = self._fake(cond)
        fake_in = torch.cat([fake, c], dim=1)
        # Only the generator learns here: the critic's and classifier's weights get no grads.
        frozen = [net for net in (p.critic, p.classifier) if net is not None]
        for net in frozen:
            net.requires_grad_(False)
        with self._autocast():
            losses = {"loss_g": -p.critic(fake_in).float().mean()}
            if p.classifier is not None:
                # The generated row must look like its class to a classifier of real rows, but
                # only as clearly as real rows do (their loss, this step): pushed further, classes
                # that overlap in reality come out separated, and a classifier trained on them
                # draws too sharp a boundary (TSTR fell from 0.74 to 0.66 on Adult).
                aux = nn.functional.cross_entropy(p.classifier(fake).float(), cond.classes)
                losses["aux_fake"] = m.aux_classifier * (aux - aux_real.detach()).abs()
            if m.info_loss > 0:
                losses["info_loss"] = m.info_loss * self._information_loss(fake_in, rows, cond)
        if m.correlation_loss > 0:
            losses["corr_loss"] = m.correlation_loss * self._correlation_loss(fake, rows)
        for net in frozen:
            net.requires_grad_(True)
        losses["cond_loss"] = self._condition_loss(raw, cond)
        p.opt_g.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        p.opt_g.step()
        return losses

    def _correlation_loss(self, fake: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Vu et al. (2024): the batch's correlation matrix and means, real vs fake, in the encoded
        space (real rows satisfy the same conditions), so pair trends are learned directly."""
        real = self.real.dense(self.layout, rows)
        fake = fake.float()
        corr_real, corr_fake = _correlation(real), _correlation(fake)
        return (corr_real - corr_fake).norm() / fake.shape[1] + (real.mean(0) - fake.mean(0)).norm()

    def _information_loss(self, fake_in: torch.Tensor, rows: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """CTAB-GAN's information loss: the critic's last-layer features, real vs fake, should
        have the same mean and standard deviation (real rows satisfy the same conditions)."""
        with torch.no_grad():
            real_in = torch.cat([self.real.dense(self.layout, rows), self.coder.encode(cond)], dim=1)
            f_real = self.parts.critic.features(real_in).float()
        f_fake = self.parts.critic.features(fake_in).float()
        return ((f_real.mean(0) - f_fake.mean(0)).norm() + (f_real.std(0) - f_fake.std(0)).norm())

    def _condition_loss(self, raw: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """Cross-entropy of the generated category against the asked-for one (CTGAN)."""
        if self.coder.n_columns == 0:
            return raw.new_zeros(())
        asked = cond.column < self.coder.n_columns
        blocks = self.coder.column_blocks[cond.column.clamp_max(self.coder.n_columns - 1)]
        target = self.layout.block_offsets[blocks] + cond.value
        logp = self.layout.block_log_softmax(raw)
        picked = logp.gather(1, target[:, None]).squeeze(1)
        return -(picked * asked).sum() / raw.shape[0]


def _correlation(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(0)
    scale = centred.pow(2).mean(0).clamp_min(1e-6).rsqrt()
    z = centred * scale
    return z.T @ z / x.shape[0]
