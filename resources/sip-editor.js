// Editor helpers shared by the three nodes of node-red-contrib-sip-client: number, host,
// PEM and network validators, the speech preview (▶), the language lists and the rows of
// the greetings (sip-call) and actions (sip-dtmf) lists.
//
// Node-RED (>= 1.3) serves this package's resources/ folder at
// resources/node-red-contrib-sip-client/, and loads a <script src="resources/..."> of a
// node's HTML before it adds that node's definition. Each node's HTML loads this file, so
// each works on its own; the first load defines window.SipClientEditor, later ones keep it.
(function () {
  "use strict";
  if (window.SipClientEditor) {
    return;
  }
  var MODULE = "node-red-contrib-sip-client";
  // Used until GET sip-client/tts/languages has answered (or if it fails).
  var PICO_LANGUAGES = ["en-US", "en-GB", "de-DE", "es-ES", "fr-FR", "it-IT"];

  // A text of a node's message catalogue, outside a node's context (validators).
  function text(type, key, vars) {
    return RED._(MODULE + "/" + type + ":" + type + "." + key, vars);
  }

  // ----- validators ------------------------------------------------------------
  // Each takes two arguments: Node-RED 3+ then shows a returned string as the error.

  function isInteger(v) {
    return /^\s*\d+\s*$/.test(String(v));
  }
  // A whole number from min to max (max undefined: no upper bound). allowEmpty: ""
  // (or a missing value) means "use the default".
  function intRange(type, min, max, key, allowEmpty) {
    return function (v, opt) {
      if (v === "" || v === undefined || v === null) {
        return allowEmpty ? true : text(type, "error." + key);
      }
      if (!isInteger(v)) {
        return text(type, "error." + key);
      }
      var n = parseInt(v, 10);
      if (n < min || (max !== undefined && n > max)) {
        return text(type, "error." + key);
      }
      return true;
    };
  }
  var HOST_RE = /^[A-Za-z0-9.\-_\[\]:]+$/;
  // A host name or address; required: "" is refused with error.<emptyKey>.
  function host(type, emptyKey) {
    return function (v, opt) {
      var s = String(v === undefined || v === null ? "" : v).trim();
      if (!s) {
        return emptyKey ? text(type, "error." + emptyKey) : true;
      }
      return HOST_RE.test(s) || text(type, "error.host");
    };
  }
  // A PEM block of the given kind ("CERTIFICATE"); "" and a stored credential pass.
  function pem(type, kind, key) {
    return function (v, opt) {
      var s = String(v || "").trim();
      if (!s || s === "__PWRD__") {
        return true;
      }
      return new RegExp("-----BEGIN [A-Z0-9 ]*" + kind + "-----").test(s) || text(type, "error." + key);
    };
  }
  // Same splitting as the runtime (nodes/sip-client/config.ts splitNetworks).
  function splitNetworks(list) {
    return String(list || "")
      .split(/[\s,;]+/)
      .filter(function (s) {
        return s.length > 0;
      });
  }
  // "192.168.1.0/24", "10.0.0.7", "fd00::/8", "::1". The runtime checks again.
  function isCidr(s) {
    var parts = String(s).split("/");
    if (parts.length > 2) {
      return false;
    }
    var ip = parts[0];
    var v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
    var max;
    if (v4) {
      for (var i = 1; i <= 4; i++) {
        if (parseInt(v4[i], 10) > 255) {
          return false;
        }
      }
      max = 32;
    } else if (/^[0-9A-Fa-f:.]+$/.test(ip) && ip.indexOf(":") >= 0 && (ip.match(/::/g) || []).length <= 1) {
      var groups = ip.split(":");
      if (
        groups.length > 8 ||
        groups.some(function (g) {
          return g.length > 4 && g.indexOf(".") < 0;
        })
      ) {
        return false;
      }
      max = 128;
    } else {
      return false;
    }
    if (parts.length === 1) {
      return true;
    }
    return /^\d{1,3}$/.test(parts[1]) && parseInt(parts[1], 10) <= max;
  }
  // The value of another field of the open dialog, or the node's property when closed.
  function fieldOr(selector, node, prop) {
    var field = $(selector);
    return field.length ? field.val() : node[prop];
  }

  // ----- ▶ preview: GET sip-client/tts/preview returns audio/wav ---------------
  var player = null;
  function stopPreview() {
    if (player) {
      try {
        player.audio.pause();
      } catch (e) {
        /* ignore */
      }
      URL.revokeObjectURL(player.url);
      if (player.button) {
        player.button.find("i").attr("class", "fa fa-play");
      }
      player = null;
    }
  }
  function authHeaders() {
    var headers = { "Node-RED-API-Version": "v2" };
    var tokens = RED.settings.get("auth-tokens");
    if (tokens && tokens.access_token) {
      headers.Authorization = "Bearer " + tokens.access_token;
    }
    return headers;
  }
  function selectedClient() {
    var id = $("#node-input-client").val();
    return id && id !== "_ADD_" ? RED.nodes.node(id) : null;
  }
  function previewSpeech(type, node, button, speech, language) {
    var wasPlaying = player && player.button && player.button[0] === button[0];
    stopPreview();
    if (wasPlaying) {
      return;
    }
    speech = String(speech || "").trim();
    if (!speech) {
      RED.notify(node._(type + ".preview.empty"), "warning");
      return;
    }
    var client = selectedClient();
    var lang = language || (client && client.ttsLanguage) || "en-US";
    var url = "sip-client/tts/preview?text=" + encodeURIComponent(speech) + "&language=" + encodeURIComponent(lang);
    // The external command engine is configured per deployed account; previews use Pico.
    if (client && client.ttsEngine && client.ttsEngine !== "command") {
      url += "&engine=" + encodeURIComponent(client.ttsEngine);
    }
    var icon = button.find("i");
    icon.attr("class", "fa fa-spinner fa-spin");
    fetch((RED.settings.apiRootUrl || "") + url, { headers: authHeaders(), cache: "no-store" })
      .then(function (res) {
        if (res.ok) {
          return res.blob();
        }
        return res.json().then(
          function (body) {
            throw new Error((body && body.message) || res.status + " " + res.statusText);
          },
          function () {
            throw new Error(res.status + " " + res.statusText);
          },
        );
      })
      .then(function (blob) {
        var objectUrl = URL.createObjectURL(blob);
        var audio = new Audio(objectUrl);
        player = { audio: audio, url: objectUrl, button: button };
        icon.attr("class", "fa fa-stop");
        audio.addEventListener("ended", function () {
          if (player && player.audio === audio) {
            stopPreview();
          }
        });
        return audio.play();
      })
      .catch(function (err) {
        stopPreview();
        icon.attr("class", "fa fa-play");
        RED.notify(node._(type + ".preview.failed", { error: err.message || String(err) }), "error");
      });
  }
  // ▶ beside a text field: speaks the field's text (in the row's language, if any).
  function bindPreview(type, node, button, textField, languageField) {
    button.on("click", function (e) {
      e.preventDefault();
      previewSpeech(type, node, button, textField.val(), languageField ? languageField.val() : "");
    });
  }

  // ----- languages -------------------------------------------------------------
  function defaultLanguages() {
    return PICO_LANGUAGES.map(function (l) {
      return { engine: "pico", language: l };
    });
  }
  // Calls back with the runtime's list ({ engine, language, label }[]) when it has one.
  function loadLanguages(callback) {
    $.getJSON("sip-client/tts/languages").done(function (list) {
      if (Array.isArray(list) && list.length) {
        callback(list);
      }
    });
  }
  function languageLabel(type, node, code) {
    var label = node._(type + ".languages." + code);
    return label === type + ".languages." + code ? code : label + " (" + code + ")";
  }
  // A per-row select: "account default" first, then each language once, then an unknown value kept.
  function fillLanguageSelect(type, node, select, languages, value) {
    select.empty();
    $("<option>")
      .val("")
      .text(node._(type + ".label.defaultLanguage"))
      .appendTo(select);
    var seen = {};
    languages.forEach(function (l) {
      if (seen[l.language]) {
        return;
      }
      seen[l.language] = true;
      $("<option>")
        .val(l.language)
        .text(languageLabel(type, node, l.language))
        .appendTo(select);
    });
    if (value && !seen[value]) {
      $("<option>").val(value).text(value).appendTo(select);
    }
    select.val(value || "");
  }

  // ----- the greetings / actions lists ----------------------------------------
  // One item of an editableList of spoken texts. Line 1: the given text fields, a
  // language select and ▶; line 2: the message. spec = { prefix ("node-input-greeting"),
  // fields: [{ name, width, placeholder, title, value }], languageWidth, language,
  // languages (the list to offer), message, messagePlaceholder }. Classes are
  // prefix + "-" + name, as the node's oneditsave reads them back.
  function speechRow(type, node, container, spec) {
    container.css({ display: "flex", "flex-direction": "column", gap: "5px" });
    var line1 = $("<div>", { style: "display: flex; align-items: center; gap: 6px;" }).appendTo(container);
    var line2 = $("<div>", { style: "display: flex; align-items: center; gap: 6px;" }).appendTo(container);
    var row = { line1: line1, fields: {} };
    spec.fields.forEach(function (f) {
      row.fields[f.name] = $("<input>", { type: "text", class: spec.prefix + "-" + f.name, style: "width: " + f.width + "px;" })
        .attr("placeholder", node._(type + "." + f.placeholder))
        .attr("title", node._(type + "." + f.title))
        .val(f.value || "")
        .appendTo(line1);
    });
    row.language = $("<select>", { class: spec.prefix + "-language", style: "width: " + spec.languageWidth + "px;" })
      .attr("title", node._(type + ".label.language"))
      .appendTo(line1);
    fillLanguageSelect(type, node, row.language, spec.languages, spec.language || "");
    row.play = $("<button>", { type: "button", class: "red-ui-button " + spec.prefix + "-play", style: "width: 34px;" })
      .attr("title", node._(type + ".label.preview"))
      .append($("<i>", { class: "fa fa-play" }))
      .appendTo(line1);
    row.message = $("<input>", { type: "text", class: spec.prefix + "-message", style: "flex-grow: 1; width: 100%;" })
      .attr("placeholder", node._(type + "." + spec.messagePlaceholder))
      .attr("title", node._(type + ".label.message"))
      .val(spec.message || "")
      .appendTo(line2);
    bindPreview(type, node, row.play, row.message, row.language);
    return row;
  }
  // A sortable, removable editableList of speechRow items; removing one stops a preview.
  // opts: addButton (catalogue key), addItem, and optionally removeItem, sortItems.
  function speechList(type, node, list, opts) {
    list.css({ "min-height": "150px", "min-width": "450px" }).editableList({
      addButton: node._(type + "." + opts.addButton),
      addItem: opts.addItem,
      removeItem: function (data) {
        if (opts.removeItem) {
          opts.removeItem(data);
        }
        stopPreview();
      },
      sortItems: opts.sortItems,
      sortable: true,
      removable: true,
    });
  }
  // oneditsave: one value per item of the list, read from its row.
  function listValues(list, read) {
    var values = [];
    list.editableList("items").each(function () {
      values.push(read($(this)));
    });
    return values;
  }
  // The list's language selects follow the runtime's language list once it has answered.
  function refreshRowLanguages(type, node, list, selectClass, setLanguages) {
    loadLanguages(function (languages) {
      setLanguages(languages);
      list.editableList("items").each(function () {
        var select = $(this).find("." + selectClass);
        fillLanguageSelect(type, node, select, languages, select.val());
      });
    });
  }
  // oneditresize: the list takes the height the other rows of the dialog leave.
  function resizeList(list, rowClass, size) {
    var rows = $("#dialog-form>div:not(." + rowClass + ")");
    var height = size.height;
    for (var i = 0; i < rows.length; i++) {
      height -= $(rows[i]).outerHeight(true);
    }
    var editorRow = $("#dialog-form>div." + rowClass);
    height -= parseInt(editorRow.css("marginTop"), 10) + parseInt(editorRow.css("marginBottom"), 10);
    list.editableList("height", Math.max(180, height));
  }

  // A new flow node uses the SIP account if there is exactly one.
  function preselectOnlyAccount(node) {
    if (node.client) {
      return;
    }
    var clients = [];
    RED.nodes.eachConfig(function (c) {
      if (c.type === "sip-client") {
        clients.push(c.id);
      }
    });
    var clientSelect = $("#node-input-client");
    if (clients.length === 1 && clientSelect.find("option[value='" + clients[0] + "']").length) {
      clientSelect.val(clients[0]).trigger("change");
    }
  }

  // The helpers with a node type's catalogue bound ("sip-call", "sip-dtmf", "sip-client").
  function forType(type) {
    return {
      text: function (key, vars) {
        return text(type, key, vars);
      },
      intRange: function (min, max, key, allowEmpty) {
        return intRange(type, min, max, key, allowEmpty);
      },
      // "" or a missing value means "use the default".
      optionalInt: function (min, max, key) {
        return intRange(type, min, max, key, true);
      },
      host: function (emptyKey) {
        return host(type, emptyKey);
      },
      pem: function (kind, key) {
        return pem(type, kind, key);
      },
      previewSpeech: function (node, button, speech, language) {
        previewSpeech(type, node, button, speech, language);
      },
      bindPreview: function (node, button, textField, languageField) {
        bindPreview(type, node, button, textField, languageField);
      },
      fillLanguageSelect: function (node, select, languages, value) {
        fillLanguageSelect(type, node, select, languages, value);
      },
      speechRow: function (node, container, spec) {
        return speechRow(type, node, container, spec);
      },
      speechList: function (node, list, opts) {
        speechList(type, node, list, opts);
      },
      refreshRowLanguages: function (node, list, selectClass, setLanguages) {
        refreshRowLanguages(type, node, list, selectClass, setLanguages);
      },
    };
  }

  window.SipClientEditor = {
    PICO_LANGUAGES: PICO_LANGUAGES,
    forType: forType,
    isInteger: isInteger,
    intRange: intRange,
    splitNetworks: splitNetworks,
    isCidr: isCidr,
    fieldOr: fieldOr,
    stopPreview: stopPreview,
    previewSpeech: previewSpeech,
    defaultLanguages: defaultLanguages,
    loadLanguages: loadLanguages,
    fillLanguageSelect: fillLanguageSelect,
    listValues: listValues,
    resizeList: resizeList,
    preselectOnlyAccount: preselectOnlyAccount,
  };
})();
