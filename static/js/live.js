/* Live updates (docs/live.md): the page polls GET /live with If-None-Match; an unchanged answer is a 304.
   What it updates: the inbox badge (base.html), the workspace's rows, tabs and dashboard (home/index.html:
   refreshed in place when nothing is selected, else a "N changes: refresh" bar), and an open ticket page's
   "changed by NAME: refresh" banner (tickets/detail.html). Polling stops while the tab is hidden and
   stretches its interval by half after each unchanged answer (doubling after an error), up to the maximum.
   Without this script every page still works: it only saves a reload. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="lz-live"]');
  if (!meta || !window.fetch || !window.DOMParser) return;
  var base = parseInt(meta.getAttribute("data-lz-poll-ms"), 10) || 15000;
  var most = Math.max(base, parseInt(meta.getAttribute("data-lz-poll-max-ms"), 10) || 60000);
  var inbox = document.querySelector("[data-lz-live-inbox]");
  var list = document.querySelector("[data-lz-live-list]");
  var banner = document.querySelector("[data-lz-live-ticket]");
  var listBase = list ? JSON.parse(list.getAttribute("data-lz-live-list")) : null;
  var ticketBase = banner ? banner.getAttribute("data-lz-live-state") : null;
  var delay = base, timer = null, etag = null, busy = false, stopped = false;

  function query() {
    var parts = [];
    if (inbox) parts.push("inbox=1");
    if (list) parts.push("list=" + encodeURIComponent(window.location.search.replace(/^\?/, "")));
    if (banner) parts.push("ticket=" + encodeURIComponent(banner.getAttribute("data-lz-live-ticket")));
    return parts.join("&");
  }

  function showInbox(unread) {
    if (String(unread) === inbox.getAttribute("data-lz-live-inbox")) return false;
    inbox.setAttribute("data-lz-live-inbox", String(unread));
    var badge = inbox.querySelector(".lz-unread");
    if (!unread) {
      if (badge) badge.remove();
      return true;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge badge-danger lz-unread";
      inbox.appendChild(badge);
    }
    badge.textContent = String(unread);
    badge.setAttribute("aria-label", inbox.getAttribute("data-lz-unread-label").replace("{n}", unread));
    return true;
  }

  function differences(now) {
    var count = 0, number;
    for (number in now.rows) if (listBase.rows[number] !== now.rows[number]) count += 1;
    for (number in listBase.rows) if (!(number in now.rows)) count += 1;
    return count;
  }

  function selected() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="tickets"]:checked'))
      .map(function (box) { return box.value.split(":")[0]; });
  }

  function rerunScripts() {
    /* scripts that bind to the rows' elements (bulk.js) mark themselves data-lz-live-rerun */
    Array.prototype.forEach.call(document.querySelectorAll("script[data-lz-live-rerun]"), function (old) {
      var script = document.createElement("script");
      script.src = old.src;
      script.setAttribute("data-lz-live-rerun", "");
      old.replaceWith(script);
    });
  }

  function refreshList(only) {
    /* the page's live regions from the server's HTML of the same URL; ``only``: just these regions */
    var keep = selected(), x = window.scrollX, y = window.scrollY;
    return fetch(window.location.href, {credentials: "same-origin", cache: "no-store", redirect: "manual"})
      .then(function (response) { return response.status === 200 ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        Array.prototype.forEach.call(document.querySelectorAll("[data-lz-live-region]"), function (region) {
          var name = region.getAttribute("data-lz-live-region");
          if (only && only.indexOf(name) < 0) return;
          var next = fresh.querySelector('[data-lz-live-region="' + name + '"]');
          if (next) region.innerHTML = next.innerHTML;
        });
        var stamp = fresh.querySelector("[data-lz-live-list]");
        var rendered = stamp ? JSON.parse(stamp.getAttribute("data-lz-live-list")) : listBase;
        if (only) {  /* the rows on screen are the old ones: only the counts are new */
          listBase.counts = rendered.counts;
          return;
        }
        listBase = rendered;
        Array.prototype.forEach.call(document.querySelectorAll('input[name="tickets"]'), function (box) {
          box.checked = keep.indexOf(box.value.split(":")[0]) >= 0;
        });
        list.querySelector("[data-lz-live-bar]").hidden = true;
        window.scrollTo(x, y);
        rerunScripts();
        document.dispatchEvent(new CustomEvent("lz:live-refreshed"));
      });
  }

  function showList(now) {
    var count = differences(now);
    if (!count) {  /* only the tabs' counts moved (a colleague's ticket): they refresh, the rows stay */
      if (JSON.stringify(now.counts) === JSON.stringify(listBase.counts)) return false;
      refreshList(["tabs", "dashboard"]);
      return true;
    }
    var rows = list.querySelector('[data-lz-live-region="rows"]');
    var busyHere = rows && rows.contains(document.activeElement) && document.activeElement !== document.body;
    if (!selected().length && !busyHere) {
      refreshList();
      return true;
    }
    var bar = list.querySelector("[data-lz-live-bar]"), text = bar.querySelector(".lz-live-text");
    text.textContent = text.getAttribute("data-lz-text").replace("{n}", count);
    bar.hidden = false;
    return true;
  }

  function showTicket(now) {
    if (!now || now.state === ticketBase) return false;
    if (now.by_me) {  /* the reader's own action (another tab, a panel's fetch): nothing to announce */
      ticketBase = now.state;
      return false;
    }
    var text = banner.querySelector(".lz-live-text");
    text.textContent = now.actor ? text.getAttribute("data-lz-text").replace("{name}", now.actor)
      : text.getAttribute("data-lz-text-unnamed");
    banner.hidden = false;
    return true;
  }

  function apply(body) {
    var changed = false;
    if (inbox && body.inbox) changed = showInbox(body.inbox.unread) || changed;
    if (list && body.list) changed = showList(body.list) || changed;
    if (banner && "ticket" in body) changed = showTicket(body.ticket) || changed;
    return changed;
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    if (!stopped && document.visibilityState !== "hidden") timer = window.setTimeout(poll, ms);
  }

  function answered(response) {
    if (response.status === 304) return null;
    if (response.status === 200) {
      etag = response.headers.get("ETag");
      return response.json();
    }
    if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) stopped = true;
    throw new Error("live: HTTP " + response.status);
  }

  function poll() {
    if (busy) return;
    busy = true;
    var headers = {"Accept": "application/json"};
    if (etag) headers["If-None-Match"] = etag;
    fetch(meta.getAttribute("content") + "?" + query(),
          {headers: headers, credentials: "same-origin", cache: "no-store", redirect: "manual"})
      .then(answered)
      .then(function (body) { delay = body && apply(body) ? base : Math.min(most, Math.round(delay * 1.5)); },
            function () { delay = Math.min(most, delay * 2); })
      .then(function () {
        busy = false;
        schedule(delay);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      window.clearTimeout(timer);
    } else {
      delay = base;
      schedule(0);
    }
  });
  if (list) {
    list.addEventListener("click", function (event) {
      if (event.target.closest(".lz-live-refresh")) refreshList();
    });
  }
  schedule(delay);
})();
