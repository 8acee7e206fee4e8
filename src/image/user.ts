/**
 * The image `User` (Docker semantics) → uid, gid, home. Forms: "" (root), "uid", "uid:gid", "name", "name:group",
 * "uid:group", "name:gid". Names are resolved from the image's /etc/passwd and /etc/group (text given by the
 * caller; pure). A numeric uid without a passwd entry gets gid 0 and home "/", as Docker does.
 */
import { ImageUserError } from './errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) return [];
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) return [];
    return [{ name: f[0]!, uid, gid, home: f[5] || '/' }];
  });
}

function parseGroup(text: string): { name: string; gid: number }[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    const gid = Number(f[2]);
    return f.length >= 3 && Number.isInteger(gid) ? [{ name: f[0]!, gid }] : [];
  });
}

const ID = /^[0-9]{1,10}$/;

export function resolveUser(user: string, passwdText: string | undefined, groupText: string | undefined): ResolvedUser {
  const [u = '', g] = user.split(':', 2);
  if (u === '' && g === undefined) return { uid: 0, gid: 0, home: '/root' };
  const passwd = parsePasswd(passwdText ?? '');
  const entry = ID.test(u) ? passwd.find((p) => p.uid === Number(u)) : passwd.find((p) => p.name === u);
  if (!ID.test(u) && !entry) {
    throw new ImageUserError(
      'USER_NOT_FOUND',
      `image User ${JSON.stringify(user)}: no user ${JSON.stringify(u)} in the image's /etc/passwd`,
    );
  }
  const uid = entry?.uid ?? Number(u);
  let gid = entry?.gid ?? 0;
  if (g !== undefined && g !== '') {
    if (ID.test(g)) gid = Number(g);
    else {
      const grp = parseGroup(groupText ?? '').find((x) => x.name === g);
      if (!grp)
        throw new ImageUserError(
          'GROUP_NOT_FOUND',
          `image User ${JSON.stringify(user)}: no group ${JSON.stringify(g)} in the image's /etc/group`,
        );
      gid = grp.gid;
    }
  }
  if (uid > 0xfffffffe || gid > 0xfffffffe)
    throw new ImageUserError('BAD_USER', `image User ${JSON.stringify(user)}: id out of range`);
  return { uid, gid, home: entry?.home ?? (uid === 0 ? '/root' : '/') };
}
