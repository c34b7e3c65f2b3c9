#!/usr/bin/env node
// Fake HDBSettings.sh for tests and the demo: see fake-tool.mjs.
import("./fake-tool.mjs").then((m) => m.main("HDBSettings.sh"));
