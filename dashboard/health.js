/**
 * Pipeline health from GET /status: events/s in (from the accepted counter between two reads), the watermark
 * and its lag behind wall time, the counters, and each shard; a sparkline of the last minutes of throughput.
 */

import { appendText, formatDuration, formatNumber, formatTime } from './format.js';
import uPlot from './vendor/uplot/uPlot.esm.js';

/** Samples kept for the sparkline: two minutes at one read a second. */
const SPARK_SAMPLES = 120;
/**
 * Rates are taken over the last few seconds of reads, not between two: counters move in steps (each POST
 * answered, each batch), and a one-second difference jumps between 0 and twice the rate.
 */
const RATE_OVER_MS = 5_000;

export class HealthPanel {
  constructor() {
    /** @type {Array<{ at: number, accepted: number, shards: Map<string, number> }>} */
    this.samples = [];
    /** @type {[number[], (number | null)[]]} */
    this.series = [[], []];
    const el = document.getElementById('sparkline');
    this.sparkline = new uPlot(
      {
        width: el.clientWidth || 280,
        height: 40,
        legend: { show: false },
        cursor: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [{}, { stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.15)', width: 1.5 }],
      },
      this.series,
      el,
    );
    new ResizeObserver(() => this.sparkline.setSize({ width: el.clientWidth, height: 40 })).observe(el);
  }

  /** @param {any} status the body of GET /status */
  update(status) {
    const now = Date.now();
    const e = status.events;
    this.samples.push({
      at: now,
      accepted: e.accepted,
      shards: new Map(status.shards.map((s) => [s.shardId, s.processed])),
    });
    while (this.samples.length > 2 && now - this.samples[1].at >= RATE_OVER_MS) this.samples.shift();
    const prev = this.samples.length > 1 ? this.samples[0] : null;
    const seconds = prev ? (now - prev.at) / 1000 : 0;
    const rate = prev && seconds > 0 ? Math.max(0, (e.accepted - prev.accepted) / seconds) : null;

    setText('rate', rate === null ? '–' : formatNumber(Math.round(rate)));
    for (const id of ['accepted', 'processed', 'inFlight', 'late', 'rejected', 'deadLettered']) {
      setText(id, formatNumber(e[id]));
    }
    const watermark = status.watermark === null ? null : Date.parse(status.watermark);
    setText('watermark', watermark === null ? '–' : `${formatTime(watermark)} UTC`);
    setText('lag', watermark === null ? 'no watermark yet' : `${formatDuration(now - watermark)} behind wall time`);

    if (rate !== null) {
      this.series[0].push(now / 1000);
      this.series[1].push(rate);
      if (this.series[0].length > SPARK_SAMPLES) {
        this.series[0].shift();
        this.series[1].shift();
      }
      this.sparkline.setData(this.series);
    }
    this.renderShards(status.shards, prev, seconds, now);
  }

  renderShards(shards, prev, seconds, now) {
    const body = document.getElementById('shards');
    const rows = shards.map((s) => {
      const tr = document.createElement('tr');
      const wm = s.watermark === null ? null : Date.parse(s.watermark);
      const before = prev?.shards.get(s.shardId);
      const rate = before !== undefined && seconds > 0 ? Math.max(0, (s.processed - before) / seconds) : null;
      appendText(tr, 'td', s.shardId);
      appendText(tr, 'td', wm === null ? '–' : `${formatTime(wm)} UTC`);
      appendText(tr, 'td', wm === null ? '–' : formatDuration(now - wm), 'num');
      appendText(tr, 'td', rate === null ? '–' : formatNumber(Math.round(rate)), 'num');
      appendText(tr, 'td', formatNumber(s.processed), 'num');
      appendText(tr, 'td', formatNumber(s.batches), 'num');
      appendText(tr, 'td', s.idle ? 'idle' : 'active');
      return tr;
    });
    body.replaceChildren(...rows);
  }
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el.textContent !== text) el.textContent = text;
}
