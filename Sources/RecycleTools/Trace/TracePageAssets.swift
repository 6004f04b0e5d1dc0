// The style and script of the trace page (`TraceHTML`), kept apart from the markup that
// uses them. Both go inline into the page: it must work from a file, offline, and must not
// make the browser fetch anything.

enum TracePageAssets {
    static let stylesheet = """
        [hidden] { display: none !important; }
        body { margin: 0; padding: 16px 20px 40px; font: 14px/1.45 system-ui, sans-serif; color: #202124; background: #f6f7f9; }
        h1 { font-size: 20px; margin: 0 0 4px; }
        h1 .file { font: 14px ui-monospace, Menlo, Consolas, monospace; color: #5f6368; margin-left: 8px; }
        h2 { font-size: 15px; margin: 0 0 6px; }
        h3 { font-size: 13px; margin: 14px 0 4px; color: #3c4043; text-transform: uppercase; letter-spacing: .04em; }
        .gen-info { color: #3c4043; font-size: 13px; }
        .controls { display: flex; align-items: center; gap: 10px; margin: 14px 0 8px; }
        .controls button { font: inherit; padding: 4px 12px; border: 1px solid #c4c7c5; border-radius: 6px; background: #fff; cursor: pointer; }
        .controls button:hover { background: #e8f0fe; }
        #slider { flex: 1; max-width: 520px; }
        #where { font-weight: 600; min-width: 170px; }
        .hint { color: #80868b; font-size: 12px; }
        #strip { display: flex; align-items: flex-end; gap: 2px; height: 56px; padding: 4px; background: #fff;
                 border: 1px solid #dadce0; border-radius: 8px; overflow-x: auto; }
        #strip .bar { flex: 0 0 10px; min-width: 3px; background: #bdc1c6; border-radius: 2px 2px 0 0; cursor: pointer; }
        #strip .bar.hit { background: #34a853; }
        #strip .bar.first { margin-left: 10px; box-shadow: -6px 0 0 -4px #9aa0a6; }
        #strip .bar:hover { opacity: .7; }
        #strip .bar.cur { background: #1a73e8; outline: 2px solid #174ea6; }
        main section.step { display: flex; gap: 16px; margin-top: 12px; align-items: flex-start; }
        .tree, .info, .text { background: #fff; border: 1px solid #dadce0; border-radius: 8px; padding: 12px 14px; }
        .tree { flex: 1 1 auto; min-width: 0; }
        .tree .scroll { overflow: auto; max-height: 72vh; }
        .tree svg { display: block; }
        .info { flex: 0 0 440px; max-width: 440px; }
        .info p { margin: 2px 0; }
        .legend { font-size: 12px; color: #5f6368; margin-bottom: 6px; }
        .key { display: inline-block; padding: 0 6px; margin-right: 6px; border-radius: 4px; border: 1px solid; }
        .key.acc { background: \(TreePalette.accepted.fill); border-color: \(TreePalette.accepted.stroke); color: \(TreePalette.accepted.text); }
        .key.rej { background: \(TreePalette.rejected.fill); border-color: \(TreePalette.rejected.stroke); color: \(TreePalette.rejected.text); }
        .key.unr { background: \(TreePalette.unreached.fill); border-color: \(TreePalette.unreached.stroke); color: \(TreePalette.unreached.text); }
        .key.choice { background: \(TreePalette.choice.fill); border: 1px dashed \(TreePalette.choice.stroke); color: \(TreePalette.choice.text); }
        .chip { display: inline-block; font: 12px ui-monospace, Menlo, Consolas, monospace; white-space: pre; padding: 0 4px;
                margin: 1px 0; border-radius: 4px; background: #f1f3f4; border: 1px solid #dadce0; }
        .chip.acc { background: \(TreePalette.accepted.fill); border-color: \(TreePalette.accepted.stroke); color: \(TreePalette.accepted.text); }
        .chip.choice { border: 1px dashed \(TreePalette.choice.stroke); color: \(TreePalette.choice.text); background: #fff; }
        .chip.new { background: #e6f4ea; border-color: #34a853; }
        .chip.gone { text-decoration: line-through; color: #a50e0e; background: #fce8e6; border-color: #ee675c; }
        details summary { cursor: pointer; color: #3c4043; }
        details summary h3 { display: inline-block; }
        table.rows { border-collapse: collapse; width: 100%; font-size: 12px; }
        table.rows th { text-align: left; color: #5f6368; font-weight: 600; border-bottom: 1px solid #dadce0; }
        table.rows td { vertical-align: top; padding: 4px 6px 4px 0; border-bottom: 1px solid #f1f3f4; }
        .note, .nums { font-size: 12px; color: #5f6368; }
        .nums { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-word; }
        .chart svg { display: block; max-width: 100%; height: auto; margin-top: 6px; }
        .text { margin-top: 12px; max-height: 24vh; overflow: auto; }
        .gen-text { font: 13px/1.6 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-word; }
        .gen-text .prompt { color: #9aa0a6; }
        .gen-text .tk { cursor: pointer; }
        .gen-text .tk:hover { background: #e8f0fe; }
        .gen-text .tk.later { display: none; }
        .gen-text .tk.now { background: #fde293; border-radius: 3px; box-shadow: 0 0 0 1px #f9ab00; }
        .empty { color: #5f6368; }
        """

    /// Shows one pass at a time: the buttons, the slider, the arrow keys, a bar of the strip
    /// or a token of the text choose which; the text shows what was produced up to it.
    static let script = """
        (function () {
          var steps = document.querySelectorAll('section.step');
          if (!steps.length) return;
          var bars = document.querySelectorAll('#strip .bar');
          var infos = document.querySelectorAll('.gen-info');
          var texts = document.querySelectorAll('.gen-text');
          var slider = document.getElementById('slider');
          var where = document.getElementById('where');
          var current = -1;
          function show(i) {
            i = Math.max(0, Math.min(steps.length - 1, i));
            if (i === current) return;
            if (current >= 0) { steps[current].hidden = true; bars[current].classList.remove('cur'); }
            current = i;
            var step = steps[i], gen = step.dataset.gen;
            step.hidden = false;
            bars[i].classList.add('cur');
            bars[i].scrollIntoView({ block: 'nearest', inline: 'nearest' });
            slider.value = i;
            where.textContent = 'step ' + step.dataset.step + ' · pass ' + (i + 1) + ' of ' + steps.length;
            infos.forEach(function (e) { e.hidden = e.dataset.gen !== gen; });
            texts.forEach(function (text) {
              text.hidden = text.dataset.gen !== gen;
              if (text.hidden) return;
              text.querySelectorAll('.tk').forEach(function (t) {
                var j = Number(t.dataset.i);
                t.classList.toggle('later', j > i);
                t.classList.toggle('now', j === i);
              });
              var now = text.querySelector('.tk.now');
              if (now) now.scrollIntoView({ block: 'nearest' });
            });
          }
          function pick(event) {
            var target = event.target.closest('[data-i]');
            if (target) show(Number(target.dataset.i));
          }
          document.getElementById('prev').addEventListener('click', function () { show(current - 1); });
          document.getElementById('next').addEventListener('click', function () { show(current + 1); });
          slider.addEventListener('input', function () { show(Number(slider.value)); });
          document.getElementById('strip').addEventListener('click', pick);
          document.querySelector('section.text').addEventListener('click', pick);
          document.addEventListener('keydown', function (event) {
            if (event.target === slider || event.altKey || event.ctrlKey || event.metaKey) return;
            var moves = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: steps.length - 1 };
            if (event.key in moves) { event.preventDefault(); show(moves[event.key]); }
          });
          show(Number(document.body.dataset.initial) || 0);
        })();
        """
}
