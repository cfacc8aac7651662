// Reads from README.md what the consumer test installs, writes, runs and type-checks, so
// that the README cannot drift from what works. The README marks its parts with HTML
// comments (invisible on GitHub and npm), each right before the fenced block it is about:
//
//   <!-- consumer:install -->        a bash block: each `npm install …` line in it is run
//   <!-- consumer:file PATH -->      a block that is the app's file PATH (Quick start, recipes)
//   <!-- consumer:output COMMAND --> a text block: what COMMAND prints after the build
//   <!-- consumer:run COMMAND -->    (alone) a command that must succeed after the build
//   <!-- ts-shared: …              the first line is a description; the lines after it, up
//   …code… -->                       to `-->`, are prepended to every ts fragment below
//   <!-- ts-preamble: …            the same, for the next ts block only
//   …code… -->
//
// Every other ```ts block is a fragment to type-check: one whose first line is an import is
// compiled as it is; any other is compiled after the shared preamble and its own preamble.

const FENCE = /^```(\S*)\s*$/;

/** The parts of a README, each with the README line it starts at (1-based). */
export function readmeParts(text) {
  const lines = text.split('\n');
  const parts = { installs: [], files: [], outputs: [], runs: [], fragments: [], shared: [] };
  let pending; // the marker comment waiting for its block: { kind, arg, code, line }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('<!--')) {
      const start = i;
      while (!lines[i].includes('-->')) {
        i++;
        if (i >= lines.length) throw new Error(`README.md:${start + 1}: unclosed <!-- comment`);
      }
      const body = lines
        .slice(start, i + 1)
        .join('\n')
        .replace(/^<!--/, '')
        .replace(/-->\s*$/, '');
      const [head, ...rest] = body.split('\n');
      const match = /^\s*(consumer:\w+|ts-shared|ts-preamble)\b:?\s*(.*)$/.exec(head);
      if (!match) continue;
      const marker = {
        kind: match[1],
        arg: match[2].trim(),
        code: rest.join('\n'),
        line: start + 1,
      };
      if (marker.kind === 'ts-shared') parts.shared.push(marker.code);
      else if (marker.kind === 'consumer:run') parts.runs.push(marker);
      else pending = marker;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence && fence[1]) {
      const start = i;
      const body = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      if (i >= lines.length) throw new Error(`README.md:${start + 1}: unclosed code block`);
      const block = { lang: fence[1], code: body.join('\n') + '\n', line: start + 1 };
      addBlock(parts, block, pending);
      pending = undefined;
      continue;
    }
    if (line.trim() !== '' && pending) {
      throw new Error(
        `README.md:${pending.line}: <!-- ${pending.kind} --> is not right before a code block`,
      );
    }
  }
  return parts;
}

function addBlock(parts, block, marker) {
  const where = `README.md:${block.line}`;
  switch (marker?.kind) {
    case 'consumer:install':
      for (const raw of block.code.split('\n')) {
        const command = raw.replace(/#.*$/, '').trim();
        if (!command) continue;
        const words = command.split(/\s+/);
        if (words[0] !== 'npm' || words[1] !== 'install') {
          throw new Error(
            `${where}: a consumer:install block holds only npm install lines: ${raw}`,
          );
        }
        parts.installs.push({ words: words.slice(2), line: block.line, text: command });
      }
      return;
    case 'consumer:file':
      if (!marker.arg) throw new Error(`${where}: consumer:file needs a path`);
      parts.files.push({ path: marker.arg, text: block.code, line: block.line });
      return;
    case 'consumer:output':
      if (!marker.arg) throw new Error(`${where}: consumer:output needs a command`);
      parts.outputs.push({ command: marker.arg, expected: block.code, line: block.line });
      return;
    case 'ts-preamble':
    case undefined:
      if (block.lang === 'ts' || block.lang === 'typescript') {
        parts.fragments.push({ ...block, preamble: marker?.code ?? '' });
      } else if (marker) {
        throw new Error(`${where}: a ts-preamble before a ${block.lang} block`);
      }
      return;
    default:
      throw new Error(`README.md:${marker.line}: unknown marker ${marker.kind}`);
  }
}

/** The source of a fragment as the consumer test compiles it. */
export function fragmentSource(fragment, shared) {
  const header = `// README.md line ${fragment.line}, written by test/consumer/run-consumer-test.mjs\n`;
  const standalone = /^\s*import\s/.test(fragment.code);
  const before = standalone ? [fragment.preamble] : [...shared, fragment.preamble];
  const parts = [...before, fragment.code].filter((part) => part.trim() !== '');
  return header + parts.join('\n') + '\nexport {};\n';
}

/**
 * The install line that installs the package itself, and the peer dependencies (not marked
 * optional) that it leaves out.
 */
export function installLineProblems(parts, packageJson) {
  const line = parts.installs.find((i) => i.words.includes(packageJson.name));
  if (!line) return { line, missing: [] };
  const optional = packageJson.peerDependenciesMeta ?? {};
  const missing = Object.keys(packageJson.peerDependencies ?? {}).filter(
    (name) => !optional[name]?.optional && !line.words.includes(name),
  );
  return { line, missing };
}
