#!/usr/bin/env node
// Prints a new age key pair for backups: the identity (AGE-SECRET-KEY-1…) on the first line, its
// public key (age1…, HIY_BACKUP_RECIPIENT) on the second. install.sh makes one on the first run
// so that the daily backup works from day one; the identity is for the operator to keep off the
// box (docs/backup.md). Uses the checkout's own age-encryption (the same library hiy encrypts with).
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

const identity = await generateX25519Identity();
process.stdout.write(`${identity}\n${await identityToRecipient(identity)}\n`);
