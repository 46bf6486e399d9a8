// Live notifications: one websocket per tab, toasts for new items, an unread badge and list.
// Reconnects with backoff; on every (re)connect the server sends the unread list again.
(function () {
  "use strict";
  const script = document.currentScript;
  const readUrl = script.dataset.readUrl;
  const badge = document.getElementById("unread-badge");
  const lists = () => document.querySelectorAll("[data-unread-list]");
  const live = document.getElementById("live-status");
  const toasts = document.getElementById("toasts");
  let socket = null;
  let retryDelay = 1000;

  function setUnread(count) {
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.dataset.count = String(count);
    badge.classList.toggle("d-none", count === 0);
  }

  function item(n) {
    const el = document.createElement(n.link ? "a" : "div");
    el.className = "notif-item";
    if (n.link) el.href = n.link;
    el.dataset.notificationId = n.id;
    const title = document.createElement("div");
    title.className = "fw-semibold";
    title.textContent = n.title;
    const when = document.createElement("div");
    when.className = "small";
    when.textContent = new Date(n.created_at).toLocaleString();
    el.append(title, when);
    return el;
  }

  function renderList(items) {
    lists().forEach((list) => {
      list.replaceChildren();
      if (!items.length) {
        const empty = document.createElement("div");
        empty.className = "notif-empty text-muted small px-3 py-3";
        empty.textContent = "Nothing new. You're all caught up.";
        list.append(empty);
        return;
      }
      items.forEach((n) => list.append(item(n)));
    });
  }

  function prependItem(n) {
    lists().forEach((list) => {
      const empty = list.querySelector(".notif-empty");
      if (empty) empty.remove();
      list.prepend(item(n));
    });
  }

  function toast(n) {
    const el = document.createElement("div");
    el.className = "toast level-" + n.level;
    el.setAttribute("role", "status");
    el.dataset.testid = "toast";
    const header = document.createElement("div");
    header.className = "toast-header";
    const strong = document.createElement("strong");
    strong.className = "me-auto";
    strong.textContent = n.title;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", "Close");
    header.append(strong, close);
    el.append(header);
    if (n.body) {
      const body = document.createElement("div");
      body.className = "toast-body";
      body.textContent = n.body;
      el.append(body);
    }
    toasts.append(el);
    const t = new bootstrap.Toast(el, { delay: 8000 });
    el.addEventListener("hidden.bs.toast", () => el.remove());
    t.show();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/notifications/");
    socket.addEventListener("open", () => {
      retryDelay = 1000;
      live.className = "live-dot connected";
      live.title = "Live updates: connected";
    });
    socket.addEventListener("message", (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "unread") {
        renderList(msg.items);
        setUnread(msg.unread_count);
      } else if (msg.type === "notification") {
        toast(msg.notification);
        prependItem(msg.notification);
        setUnread(msg.unread_count);
        document.dispatchEvent(new CustomEvent("portal:notification", { detail: msg.notification }));
      }
    });
    socket.addEventListener("close", (event) => {
      live.className = "live-dot disconnected";
      live.title = "Live updates: reconnecting";
      if (event.code === 4401) return; // signed out
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  document.getElementById("mark-all-read").addEventListener("click", (event) => {
    event.preventDefault();
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ action: "mark_read" }));
    } else {
      const token = document.cookie.match(/csrftoken=([^;]+)/);
      fetch(readUrl, { method: "POST", headers: { "X-CSRFToken": token ? token[1] : "" } })
        .then(() => { setUnread(0); renderList([]); });
    }
  });

  connect();
})();
