// "Simulate a call" in the sip-call and sip-dtmf edit dialogs: a virtual incoming call on the
// deployed account (POST sip-client/:id/simulate, admin API, write permission), a keypad whose keys
// go into the call, and the call's audio played live as it arrives over RED.comms (topic
// sip-client/simulator/<account id>: 100 ms of 16-bit PCM at 8 kHz in base64). Texts: the sip-client
// catalogue's "simulator" section (en-US, fr, de). Loaded once: window.SipClientSimulator.
(function () {
  "use strict";
  if (window.SipClientSimulator) {
    return;
  }
  var MODULE = "node-red-contrib-sip-client";
  var RATE = 8000;
  // The page keeps what it played, for a look in the browser console and for the browser tests;
  // bounded to this many seconds (the oldest samples are dropped).
  var KEEP_SECONDS = 120;
  // Audio that arrives late is scheduled at least this far ahead (s): smooth, little delay.
  var LEAD_SECONDS = 0.12;
  var KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

  function t(key, vars) {
    return RED._(MODULE + "/sip-client:sip-client.simulator." + key, vars);
  }

  var state = {
    // Every sample played by the page (Int16 values), and the keys it sent.
    received: [],
    keysSent: [],
    // The current call (one per editor page) and its last state word.
    callId: null,
    callState: "",
    call: null,
  };
  var current = null; // { client, topic, onEvent, ctx, nextTime, panel }

  function errorOf(xhr) {
    var body = xhr && xhr.responseJSON;
    return (body && body.message) || (xhr && xhr.status ? xhr.status + " " + xhr.statusText : String(xhr));
  }

  function post(url) {
    return $.ajax({ url: url, method: "POST", dataType: "json" });
  }

  function decode(b64) {
    var bin = atob(b64);
    var n = bin.length >> 1;
    var out = new Int16Array(n);
    for (var i = 0; i < n; i++) {
      var v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
      out[i] = v >= 0x8000 ? v - 0x10000 : v;
    }
    return out;
  }

  function keep(pcm) {
    for (var i = 0; i < pcm.length; i++) {
      state.received.push(pcm[i]);
    }
    var max = KEEP_SECONDS * RATE;
    if (state.received.length > max) {
      state.received.splice(0, state.received.length - max);
    }
  }

  function play(pcm) {
    keep(pcm);
    var c = current;
    if (!c) {
      return;
    }
    try {
      if (!c.ctx) {
        c.ctx = new (window.AudioContext || window.webkitAudioContext)();
        c.nextTime = 0;
      }
      var buf = c.ctx.createBuffer(1, pcm.length, RATE);
      var ch = buf.getChannelData(0);
      for (var i = 0; i < pcm.length; i++) {
        ch[i] = pcm[i] / 32768;
      }
      var src = c.ctx.createBufferSource();
      src.buffer = buf;
      src.connect(c.ctx.destination);
      var now = c.ctx.currentTime;
      if (c.nextTime < now + 0.01) {
        c.nextTime = now + LEAD_SECONDS;
      }
      src.start(c.nextTime);
      c.nextTime += buf.duration;
    } catch (e) {
      // No audio output: the call goes on, the samples are kept.
    }
  }

  // The panel's line of advice or error; hidden when empty.
  function note(panel, text) {
    panel.find(".sip-sim-note").text(text).toggle(!!text);
  }

  function showState(panel, word, call) {
    state.callState = word;
    state.call = call || state.call;
    var label = word ? t("state." + word) : t("state.idle");
    if (word === "ENDED" && call && call.outcome) {
      label += " (" + call.outcome + (call.reason ? ": " + call.reason : "") + ")";
    }
    panel
      .find(".sip-sim-state")
      .text(label)
      .attr("data-state", word || "idle");
    var live = word === "RINGING" || word === "ANSWERED";
    panel.find(".sip-sim-call").prop("disabled", live);
    panel.find(".sip-sim-hangup").prop("disabled", !live);
    panel.find(".sip-sim-key").prop("disabled", word !== "ANSWERED");
  }

  function stop() {
    var c = current;
    current = null;
    if (!c) {
      return;
    }
    RED.comms.unsubscribe(c.topic, c.onEvent);
    if (state.callId && (state.callState === "RINGING" || state.callState === "ANSWERED")) {
      post("sip-client/" + encodeURIComponent(c.client) + "/simulate/" + encodeURIComponent(state.callId) + "/hangup");
    }
    if (c.ctx) {
      c.ctx.close().catch(function () {});
    }
  }

  function start(panel, client) {
    stop();
    var number = String(panel.find(".sip-sim-number").val() || "").trim();
    var name = String(panel.find(".sip-sim-name").val() || "").trim();
    var topic = "sip-client/simulator/" + client;
    var c = { client: client, topic: topic, ctx: null, nextTime: 0, panel: panel };
    c.onEvent = function (_topic, ev) {
      if (!ev || current !== c) {
        return;
      }
      if (ev.kind === "state" && ev.call && ev.call.id === state.callId) {
        showState(panel, ev.call.state, ev.call);
      } else if (ev.kind === "audio" && ev.callId === state.callId && typeof ev.pcm === "string") {
        play(decode(ev.pcm));
      }
    };
    current = c;
    state.callId = null;
    // Created on the click (a user gesture): browsers allow its sound then.
    try {
      c.ctx = new (window.AudioContext || window.webkitAudioContext)();
    } catch (e) {
      c.ctx = null;
    }
    RED.comms.subscribe(topic, c.onEvent);
    note(panel, "");
    var url = "sip-client/" + encodeURIComponent(client) + "/simulate?from=" + encodeURIComponent(number);
    if (name) {
      url += "&name=" + encodeURIComponent(name);
    }
    post(url)
      .done(function (res) {
        if (current !== c) {
          return;
        }
        state.callId = res.call.id;
        showState(panel, res.call.state, res.call);
      })
      .fail(function (xhr) {
        note(panel, t("failed", { error: errorOf(xhr) }));
        stop();
      });
  }

  // The panel under a "Simulate a call" button; `clientOf()` gives the account id chosen in the dialog.
  function attach(container, clientOf) {
    var button = $('<button type="button" class="red-ui-button sip-sim-open"><i class="fa fa-phone-square"></i> </button>');
    button.append($("<span>").text(t("open")));
    var panel = $('<div class="sip-sim-panel" style="display:none; margin-top:8px; padding:8px; border:1px solid #ccc; border-radius:4px;"></div>');
    var row1 = $('<div class="form-row"></div>').appendTo(panel);
    $("<label>").text(t("number")).appendTo(row1);
    $('<input type="text" class="sip-sim-number" style="width:140px;" value="5551234">').appendTo(row1);
    var row2 = $('<div class="form-row"></div>').appendTo(panel);
    $("<label>").text(t("name")).appendTo(row2);
    $('<input type="text" class="sip-sim-name" style="width:140px;">').appendTo(row2);
    var row3 = $('<div class="form-row"></div>').appendTo(panel);
    $('<button type="button" class="red-ui-button sip-sim-call"><i class="fa fa-phone"></i> </button>')
      .append($("<span>").text(t("call")))
      .appendTo(row3);
    $("<span> </span>").appendTo(row3);
    $('<button type="button" class="red-ui-button sip-sim-hangup" disabled><i class="fa fa-times"></i> </button>')
      .append($("<span>").text(t("hangup")))
      .appendTo(row3);
    $('<span class="sip-sim-state" style="margin-left:10px; font-weight:bold;"></span>').appendTo(row3);
    var pad = $('<div class="sip-sim-keypad" style="display:grid; grid-template-columns: repeat(3, 40px); gap:4px; margin:6px 0;"></div>').appendTo(
      panel,
    );
    KEYS.forEach(function (k) {
      $('<button type="button" class="red-ui-button sip-sim-key" disabled></button>').attr("data-key", k).text(k).appendTo(pad);
    });
    $('<div class="sip-sim-note form-tips" style="margin-top:6px;"></div>').appendTo(panel);
    container.append(button).append(panel);
    showState(panel, "", null);

    button.on("click", function () {
      panel.toggle();
      note(panel, !clientOf() ? t("noAccount") : RED.nodes.dirty() ? t("deployFirst") : t("hint"));
    });
    panel.find(".sip-sim-call").on("click", function () {
      var client = clientOf();
      if (!client) {
        note(panel, t("noAccount"));
        return;
      }
      start(panel, client);
    });
    panel.find(".sip-sim-hangup").on("click", function () {
      var c = current;
      if (!c || !state.callId) {
        return;
      }
      post("sip-client/" + encodeURIComponent(c.client) + "/simulate/" + encodeURIComponent(state.callId) + "/hangup").fail(function (xhr) {
        note(panel, t("failed", { error: errorOf(xhr) }));
      });
    });
    pad.on("click", ".sip-sim-key", function () {
      var c = current;
      var key = $(this).attr("data-key");
      if (!c || !state.callId) {
        return;
      }
      state.keysSent.push(key);
      post(
        "sip-client/" + encodeURIComponent(c.client) + "/simulate/" + encodeURIComponent(state.callId) + "/key?key=" + encodeURIComponent(key),
      ).fail(function (xhr) {
        note(panel, t("failed", { error: errorOf(xhr) }));
      });
    });
    // Closing the dialog ends the call and the subscription.
    var onClose = function () {
      RED.events.off("editor:close", onClose);
      stop();
    };
    RED.events.on("editor:close", onClose);
  }

  window.SipClientSimulator = { attach: attach, state: state, stop: stop, KEEP_SECONDS: KEEP_SECONDS };
})();
