import { mayForward, refusalMessage } from './access-policy';
import { canonicalPath } from './proxy-path';

describe('mayForward', () => {
  it('lets a viewer read anything but destination secrets', () => {
    expect(mayForward('viewer', 'enrichment', 'GET', '/v1/profiles/p_1/timeline')).toBe(true);
    expect(mayForward('viewer', 'segmentation', 'HEAD', '/v1/segments')).toBe(true);
    expect(mayForward('viewer', 'collector', 'GET', '/v1/sources')).toBe(true);
    expect(mayForward('viewer', 'activation', 'GET', '/v1/destinations/d_1/secret')).toBe(false);
  });

  it('lets a viewer send only the two read-only POSTs of segmentation', () => {
    expect(mayForward('viewer', 'segmentation', 'POST', '/v1/segments/preview')).toBe(true);
    expect(mayForward('viewer', 'segmentation', 'post', '/v1/segments/validate')).toBe(true);
    expect(mayForward('viewer', 'segmentation', 'POST', '/v1/segments')).toBe(false);
    expect(mayForward('viewer', 'segmentation', 'POST', '/v1/segments/preview/x')).toBe(false);
    expect(mayForward('viewer', 'activation', 'POST', '/v1/segments/preview')).toBe(false);
    for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS']) expect(mayForward('viewer', 'segmentation', method, '/v1/segments/preview')).toBe(false);
  });

  it("lets a viewer preview an experience for a contact (activation's preview changes nothing), and nothing else of experiences", () => {
    expect(mayForward('viewer', 'activation', 'POST', '/v1/experiences/preview')).toBe(true);
    expect(mayForward('viewer', 'activation', 'POST', '/v1/experiences')).toBe(false);
    expect(mayForward('viewer', 'activation', 'PUT', '/v1/experiences/preview')).toBe(false);
    expect(mayForward('viewer', 'activation', 'POST', '/v1/experiences/preview/x')).toBe(false);
    expect(mayForward('viewer', 'segmentation', 'POST', '/v1/experiences/preview')).toBe(false);
  });

  it('lets an editor change everything but the admin-only routes', () => {
    expect(mayForward('editor', 'segmentation', 'POST', '/v1/segments')).toBe(true);
    expect(mayForward('editor', 'segmentation', 'DELETE', '/v1/segments/vip')).toBe(true);
    expect(mayForward('editor', 'activation', 'POST', '/v1/destinations')).toBe(true);
    expect(mayForward('editor', 'identity', 'GET', '/v1/rules')).toBe(true);
    expect(mayForward('editor', 'collector', 'GET', '/v1/sources/src_1')).toBe(true);
    expect(mayForward('editor', 'collector', 'POST', '/v1/sources')).toBe(false);
    expect(mayForward('editor', 'collector', 'PATCH', '/v1/sources/src_1')).toBe(false);
    expect(mayForward('editor', 'collector', 'DELETE', '/v1/sources/src_1')).toBe(false);
    expect(mayForward('editor', 'collector', 'POST', '/v1/sources/src_1/server-key')).toBe(false);
    expect(mayForward('editor', 'collector', 'POST', '/v1/sourcesX')).toBe(true); // not under /v1/sources
    expect(mayForward('editor', 'identity', 'PUT', '/v1/rules')).toBe(false);
    expect(mayForward('editor', 'activation', 'GET', '/v1/destinations/d_1/secret')).toBe(false);
    expect(mayForward('editor', 'activation', 'HEAD', '/v1/destinations/d_1/secret')).toBe(false);
  });

  it('lets an admin do everything', () => {
    expect(mayForward('admin', 'collector', 'POST', '/v1/sources')).toBe(true);
    expect(mayForward('admin', 'identity', 'PUT', '/v1/rules')).toBe(true);
    expect(mayForward('admin', 'activation', 'GET', '/v1/destinations/d_1/secret')).toBe(true);
  });

  it('judges other spellings of an admin-only path as that path once canonical', () => {
    for (const raw of ['/v1/%73ources', '/v1//sources/', 'v1/sources']) {
      const c = canonicalPath(raw);
      expect(c).toEqual({ ok: true, path: '/v1/sources' });
      expect(mayForward('editor', 'collector', 'POST', (c as { path: string }).path)).toBe(false);
    }
  });

  it('names the role, method and path when refusing', () => {
    expect(refusalMessage('viewer', 'segmentation', 'post', '/v1/segments')).toBe('role viewer may not POST /v1/segments on segmentation');
  });
});

describe('canonicalPath', () => {
  it('re-encodes each segment and keeps encoded characters encoded', () => {
    expect(canonicalPath('/v1/profiles/by/email/ada%40example.com')).toEqual({ ok: true, path: '/v1/profiles/by/email/ada%40example.com' });
    expect(canonicalPath('/v1/identities/userId/a b')).toEqual({ ok: true, path: '/v1/identities/userId/a%20b' });
    expect(canonicalPath('')).toEqual({ ok: true, path: '/' });
  });

  it('refuses dot segments, encoded slashes and bad percent-encoding', () => {
    expect(canonicalPath('/v1/segments/preview/..').ok).toBe(false);
    expect(canonicalPath('/v1/%2e%2e/sources').ok).toBe(false);
    expect(canonicalPath('/v1/a%2Fb').ok).toBe(false);
    expect(canonicalPath('/v1/a%5Cb').ok).toBe(false);
    expect(canonicalPath('/v1/%zz').ok).toBe(false);
  });
});
