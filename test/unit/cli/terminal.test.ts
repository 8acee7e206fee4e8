import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inForeground } from '../../../src/cli/terminal.js';

// /proc/<pid>/stat: pid (comm) state ppid pgrp session tty_nr tpgid ...
test('a process whose group owns the terminal is in the foreground', () => {
  assert.equal(inForeground('4242 (node) S 4000 4242 4000 34816 4242 4194560 ...'), true);
});

test('a process started with & is not (its group is not the terminal foreground group)', () => {
  assert.equal(inForeground('4242 (node) S 4000 4242 4000 34816 4000 4194560 ...'), false);
});

test('no controlling terminal (tpgid -1) is not the foreground', () => {
  assert.equal(inForeground('4242 (node) S 1 4242 4242 0 -1 4194560 ...'), false);
});

test('a command name with spaces and parentheses does not shift the fields', () => {
  assert.equal(inForeground('4242 (a (b) c) S 4000 4242 4000 34816 4242 4194560 ...'), true);
});
