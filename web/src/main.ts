// hlsforge dashboard: upload, live videos table, workers, player, catalog player.
// Plain TypeScript + hls.js; every URL is relative so it works directly and behind nginx.
import Hls from 'hls.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const app = document.getElementById('app')!;
const tokenInput = document.getElementById('token') as HTMLInputElement;
const liveBadge = document.getElementById('live')!;
const TOKEN_KEY = 'hlsforge-token';
tokenInput.value = localStorage.getItem(TOKEN_KEY) ?? '';
tokenInput.addEventListener('change', () => localStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));

const token = () => tokenInput.value.trim();
const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmtBytes = (n: number) => {
  if (!n) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
};
const fmtSecs = (s: number) => (s ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}` : '');

async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const headers: Record<string, string> = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j?.error?.message ?? `HTTP ${r.status}`);
  return j;
}

// ---- live events (one EventSource for the whole app) ----
type Listener = (type: string, data: Json) => void;
const listeners = new Set<Listener>();
function connectEvents() {
  const url = 'api/events' + (token() ? `?token=${encodeURIComponent(token())}` : '');
  const es = new EventSource(url);
  es.onopen = () => { liveBadge.className = 'live on'; };
  es.onerror = () => { liveBadge.className = 'live off'; };
  for (const t of ['video', 'video_deleted', 'job', 'worker', 'catalog']) {
    es.addEventListener(t, (e) => {
      const data = JSON.parse((e as MessageEvent).data);
      listeners.forEach((l) => l(t, data));
    });
  }
}
connectEvents();

// ---- pages ----
let cleanup: (() => void) | null = null;
function route() {
  cleanup?.();
  cleanup = null;
  const h = location.hash || '#/';
  const m = h.match(/^#\/player\/(\d+)/);
  if (m) cleanup = playerPage(Number(m[1]));
  else if (h.startsWith('#/catalog')) cleanup = catalogPage();
  else cleanup = videosPage();
}
window.addEventListener('hashchange', route);

function videosPage(): () => void {
  app.innerHTML = `
  <section><h2>Upload</h2>
    <div id="drop">Drop a video here or <input id="file" type="file" accept="video/*,.mkv,.mov,.mxf"></div>
    <div id="upload-status" class="muted"></div><progress id="upload-progress" max="100" value="0" hidden></progress>
  </section>
  <section><h2>Videos</h2>
    <div><input id="search" placeholder="search name"> <select id="state-filter"><option value="">any state</option>
      ${['queued', 'assigned', 'downloading', 'encoding', 'uploading', 'ready', 'failed', 'cancelled'].map((s) => `<option>${s}</option>`).join('')}
    </select></div>
    <table id="videos"><thead><tr><th>Name</th><th>State</th><th>Progress</th><th>Duration</th><th>Rungs</th><th>Size</th><th>Speed</th><th>Error</th><th></th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Workers</h2><div id="workers" class="workers"></div></section>`;
  const tbody = app.querySelector('#videos tbody')!;
  const videos = new Map<number, Json>();
  const search = app.querySelector('#search') as HTMLInputElement;
  const stateFilter = app.querySelector('#state-filter') as HTMLSelectElement;

  const row = (v: Json) => {
    const dur = v.source?.duration ?? 0;
    const speed = v.job?.timings?.speed;
    return `<tr data-id="${v.id}" data-state="${esc(v.state)}">
      <td><a href="#/player/${v.id}">${esc(v.name)}</a></td>
      <td><span class="state ${esc(v.state)}">${esc(v.state)}</span></td>
      <td><progress max="100" value="${Number(v.progress) || 0}"></progress></td>
      <td>${fmtSecs(dur)}</td><td>${(v.renditions ?? []).length || ''}</td><td>${fmtBytes(v.size_bytes)}</td>
      <td>${speed ? speed.toFixed(1) + '×' : ''}</td>
      <td class="err" title="${esc(v.error)}">${esc(v.error)}</td>
      <td><button data-act="retry">Retry</button> <button data-act="cancel">Cancel</button> <button data-act="delete">Delete</button></td></tr>`;
  };
  const render = () => {
    const q = search.value.toLowerCase();
    const st = stateFilter.value;
    const list = [...videos.values()].filter((v) => (!q || v.name.toLowerCase().includes(q)) && (!st || v.state === st))
      .sort((a, b) => b.id - a.id);
    tbody.innerHTML = list.map(row).join('') || '<tr><td colspan="9" class="muted">no videos yet</td></tr>';
  };
  const load = async () => {
    const j = await api('GET', 'api/videos?limit=200');
    videos.clear();
    for (const v of j.items) videos.set(v.id, v);
    render();
  };
  search.oninput = render;
  stateFilter.onchange = render;
  tbody.addEventListener('click', async (e) => {
    const b = (e.target as HTMLElement).closest('button');
    if (!b) return;
    const id = Number(b.closest('tr')!.dataset.id);
    const act = b.dataset.act!;
    if (act === 'delete' && !confirm('Delete this video and its HLS output?')) return;
    try {
      if (act === 'delete') await api('DELETE', `api/videos/${id}`);
      else await api('POST', `api/videos/${id}/${act}`);
      if (act === 'delete') { videos.delete(id); render(); }
    } catch (err) { alert(`${act}: ${(err as Error).message}`); }
  });

  // Upload: XHR for progress events; multipart field "file".
  const status = app.querySelector('#upload-status')!;
  const prog = app.querySelector('#upload-progress') as HTMLProgressElement;
  const upload = (f: File) => {
    const fd = new FormData();
    fd.append('file', f, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', 'api/uploads');
    if (token()) xhr.setRequestHeader('Authorization', `Bearer ${token()}`);
    prog.hidden = false;
    prog.value = 0;
    status.textContent = `uploading ${f.name}…`;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) prog.value = (100 * e.loaded) / e.total; };
    xhr.onload = () => {
      let j: Json = {};
      try { j = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        prog.value = 100;
        status.textContent = `uploaded ${j.name}` + (j.id ? ` (video ${j.id})` : '');
        if (j.video) { videos.set(j.video.id, j.video); render(); }
      } else {
        status.textContent = `upload failed: ${j?.error?.message ?? xhr.status}`;
      }
    };
    xhr.onerror = () => { status.textContent = 'upload failed: network error'; };
    xhr.send(fd);
  };
  const fileInput = app.querySelector('#file') as HTMLInputElement;
  fileInput.onchange = () => { if (fileInput.files?.[0]) upload(fileInput.files[0]); };
  const drop = app.querySelector('#drop') as HTMLElement;
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) upload(f);
  };

  // Workers with a short CPU/memory history.
  const wbox = app.querySelector('#workers')!;
  const workers = new Map<string, Json>();
  const history = new Map<string, { cpu: number[]; mem: number[] }>();
  const renderWorkers = () => {
    wbox.innerHTML = [...workers.values()].map((w) => {
      const memPct = w.mem_total_bytes ? 100 * (1 - w.mem_available_bytes / w.mem_total_bytes) : 0;
      const cur = (w.current ?? []).map((c: Json) => `${esc(c.video ?? c.job)} ${Math.round(c.progress ?? 0)}%`).join(', ');
      return `<div class="worker ${w.alive ? 'alive' : 'lost'}" data-id="${esc(w.id)}">
        <b>${esc(w.id)}</b> <span class="state ${w.alive ? 'ready' : 'failed'}">${w.alive ? 'alive' : 'lost'}</span>
        <div>CPU ${w.cpu_percent.toFixed(0)}%</div><div class="gauge"><div style="width:${w.cpu_percent}%"></div></div>
        <div>Memory ${memPct.toFixed(0)}% of ${fmtBytes(w.mem_total_bytes)}</div><div class="gauge mem"><div style="width:${memPct}%"></div></div>
        <canvas width="280" height="50"></canvas>
        <div class="muted">job: ${cur || 'idle'}</div></div>`;
    }).join('') || '<span class="muted">no workers have reported yet</span>';
    wbox.querySelectorAll<HTMLElement>('.worker').forEach((el) => {
      const h = history.get(el.dataset.id!);
      const c = el.querySelector('canvas')!.getContext('2d');
      if (!h || !c) return;
      c.clearRect(0, 0, 280, 50);
      for (const [series, color] of [[h.cpu, '#37f'], [h.mem, '#b5f']] as const) {
        c.strokeStyle = color;
        c.beginPath();
        series.forEach((v, i) => { const x = (i * 280) / 59, y = 50 - v / 2; i ? c.lineTo(x, y) : c.moveTo(x, y); });
        c.stroke();
      }
    });
  };
  const addWorker = (w: Json) => {
    workers.set(w.id, w);
    const h = history.get(w.id) ?? { cpu: [], mem: [] };
    h.cpu.push(w.cpu_percent);
    h.mem.push(w.mem_total_bytes ? 100 * (1 - w.mem_available_bytes / w.mem_total_bytes) : 0);
    if (h.cpu.length > 60) { h.cpu.shift(); h.mem.shift(); }
    history.set(w.id, h);
  };
  api('GET', 'api/workers').then((j) => { j.items.forEach(addWorker); renderWorkers(); }).catch(() => {});
  // "lost" needs no event: re-check heartbeats against the timeout periodically.
  const timer = setInterval(() => {
    api('GET', 'api/workers').then((j) => { j.items.forEach((w: Json) => workers.set(w.id, { ...workers.get(w.id), alive: w.alive })); renderWorkers(); }).catch(() => {});
  }, 5000);

  const onEvent: Listener = (type, d) => {
    if (type === 'video') {
      const old = videos.get(d.id);
      videos.set(d.id, old?.job ? { ...d, job: old.job } : d);
      render();
    } else if (type === 'video_deleted') { videos.delete(d.id); render(); }
    else if (type === 'job') {
      const v = videos.get(d.video_id);
      if (v) { v.job = d; render(); }
    } else if (type === 'worker') { addWorker(d); renderWorkers(); }
  };
  listeners.add(onEvent);
  load().catch((e) => { tbody.innerHTML = `<tr><td colspan="9">${esc(e.message)}</td></tr>`; });
  return () => { listeners.delete(onEvent); clearInterval(timer); };
}

// Attaches a source to the video element: hls.js where MSE exists, else native HLS (Safari).
function attach(video: HTMLVideoElement, url: string, config: Partial<Hls['config']> = {}): Hls | null {
  if (Hls.isSupported()) {
    const hls = new Hls({ ...config });
    hls.loadSource(url);
    hls.attachMedia(video);
    (window as Json).__hls = hls;
    return hls;
  }
  if (video.canPlayType('application/vnd.apple.mpegurl')) video.src = url;
  return null;
}

function playerPage(id: number): () => void {
  app.innerHTML = `<section class="player"><h2 id="title">Video ${id}</h2>
    <video id="video" controls muted playsinline></video>
    <div>Quality <select id="quality"><option value="-1">Auto</option></select>
      playing: <b id="playing">–</b> · measured bitrate: <b id="bitrate">–</b></div>
    <div id="player-error" class="err"></div>
    <pre id="facts" class="facts"></pre></section>`;
  const video = app.querySelector('#video') as HTMLVideoElement;
  const quality = app.querySelector('#quality') as HTMLSelectElement;
  const playing = app.querySelector('#playing')!;
  const bitrate = app.querySelector('#bitrate')!;
  const errBox = app.querySelector('#player-error')!;
  let hls: Hls | null = null;
  let timer = 0;
  (window as Json).__playerErrors = [];
  api('GET', `api/videos/${id}`).then((v) => {
    app.querySelector('#title')!.textContent = v.name;
    app.querySelector('#facts')!.textContent = JSON.stringify(
      { state: v.state, source: v.source, renditions: v.renditions, timings: v.job?.timings, attempts: v.job?.attempts, error: v.error, playback: v.playback }, null, 2);
    if (!v.playback) { errBox.textContent = 'not published yet'; return; }
    hls = attach(video, v.playback.master);
    if (!hls) return;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      quality.innerHTML = '<option value="-1">Auto</option>' +
        hls!.levels.map((l, i) => `<option value="${i}">${l.height}p · ${Math.round(l.bitrate / 1000)} kb/s</option>`).join('');
      video.play().catch(() => {});
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
      const l = hls!.levels[d.level];
      playing.textContent = `${l.height}p`;
      playing.setAttribute('data-level', String(d.level));
      playing.setAttribute('data-height', String(l.height));
    });
    hls.on(Hls.Events.ERROR, (_e, d) => {
      (window as Json).__playerErrors.push(`${d.type}/${d.details}/${d.fatal}`);
      if (d.fatal) errBox.textContent = `playback error: ${d.details}`;
    });
    timer = window.setInterval(() => {
      if (hls && Number.isFinite(hls.bandwidthEstimate)) bitrate.textContent = `${Math.round(hls.bandwidthEstimate / 1000)} kb/s`;
    }, 1000);
  }).catch((e) => { errBox.textContent = e.message; });
  quality.onchange = () => { if (hls) hls.currentLevel = Number(quality.value); };
  return () => { clearInterval(timer); hls?.destroy(); };
}

function catalogPage(): () => void {
  app.innerHTML = `<section class="player"><h2>Catalog player (dynamic tracks)</h2>
    <video id="video" controls muted playsinline></video>
    <div>Now playing: <b id="track">–</b></div>
    <div id="tracks" class="tracks"></div>
    <div id="player-error" class="err"></div></section>`;
  const video = app.querySelector('#video') as HTMLVideoElement;
  const tracksBox = app.querySelector('#tracks')!;
  const trackLabel = app.querySelector('#track')!;
  const errBox = app.querySelector('#player-error')!;
  const url = 'hls/encode/master.m3u8';
  let hls: Hls | null = null;
  let wanted = '';  // track name to keep across manifest reloads
  (window as Json).__playerErrors = [];

  const renderTracks = () => {
    if (!hls) return;
    tracksBox.innerHTML = hls.levels.map((l, i) =>
      `<button data-i="${i}" data-name="${esc(l.name)}" class="${i === hls!.currentLevel ? 'current' : ''}">${esc(l.name || `track ${i}`)}</button>`).join('');
  };
  const select = (i: number) => {
    if (!hls || i < 0 || i >= hls.levels.length) return;
    wanted = hls.levels[i].name;
    hls.currentLevel = i;  // also turns automatic switching off
    renderTracks();
  };
  const load = async () => {
    // An empty catalog is a valid playlist that hls.js reports as a fatal error: ask first.
    const cat = await api('GET', 'api/catalog').catch(() => ({ items: [] }));
    if (!cat.items.length) {
      hls?.destroy(); hls = null;
      tracksBox.innerHTML = '<span class="muted">no ready videos yet</span>';
      return;
    }
    const resumeAt = video.currentTime;
    hls?.destroy();
    hls = attach(video, url, { startLevel: 0, capLevelToPlayerSize: false });
    if (!hls) {
      tracksBox.innerHTML = cat.items.map((e: Json) => `<span>${esc(e.name)}</span>`).join(', ');
      return;
    }
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      const keep = hls!.levels.findIndex((l) => l.name === wanted);
      select(keep >= 0 ? keep : 0);
      if (keep >= 0 && resumeAt) video.currentTime = resumeAt;
      video.play().catch(() => {});
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
      const name = hls!.levels[d.level]?.name ?? '';
      trackLabel.textContent = name;
      trackLabel.setAttribute('data-level', String(d.level));
      renderTracks();
    });
    hls.on(Hls.Events.ERROR, (_e, d) => {
      (window as Json).__playerErrors.push(`${d.type}/${d.details}/${d.fatal}`);
      if (d.fatal) errBox.textContent = `playback error: ${d.details}`;
    });
  };
  tracksBox.addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest('button');
    if (b) select(Number(b.dataset.i));
  });
  const onEvent: Listener = (type) => { if (type === 'catalog') load(); };
  listeners.add(onEvent);
  load();
  return () => { listeners.delete(onEvent); hls?.destroy(); };
}

route();
