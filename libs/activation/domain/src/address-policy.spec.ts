import { classifyAddress, normaliseHost, OutboundAllowList, outboundAddressProblem, outboundHostProblem } from './address-policy';

function allow(text: string): OutboundAllowList {
  const r = OutboundAllowList.parse(text);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['0.1.2.3', 'unspecified ("this network")'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.170.2', 'cloud metadata'],
    ['100.100.100.200', 'cloud metadata'],
    ['192.0.0.192', 'cloud metadata'],
    ['192.0.0.8', 'IETF protocol assignment'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['192.88.99.1', '6to4 relay anycast'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['100::1', 'discard-only'],
    ['64:ff9b:1::1', 'NAT64 local-use'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001::1', 'Teredo tunnel'],
    ['2001:2::1', 'IETF protocol assignment'],
    ['5f00::1', 'SRv6 segment identifier'],
    ['::127.0.0.1', 'reserved'], // IPv4-compatible (deprecated)
    ['1::1', 'reserved'], // outside global unicast
    ['::ffff:127.0.0.1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
    ['::ffff:7f00:1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
    ['::ffff:169.254.169.254', 'cloud metadata (IPv4 169.254.169.254 inside IPv6)'],
    ['::ffff:10.1.2.3', 'private (IPv4 10.1.2.3 inside IPv6)'],
    ['64:ff9b::7f00:1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
    ['64:ff9b::a9fe:a9fe', 'cloud metadata (IPv4 169.254.169.254 inside IPv6)'],
    ['2002:7f00:1::1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
    ['2002:c0a8:101::1', 'private (IPv4 192.168.1.1 inside IPv6)'],
    ['localhost', 'not an IP address'],
    ['0x7f.1', 'not an IP address'],
    ['', 'not an IP address'],
  ])('%s is not public: %s', (address, reason) => {
    expect(classifyAddress(address)).toEqual({ public: false, reason });
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '93.184.215.14',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.1.1',
    '198.17.255.255',
    '198.20.0.1',
    '223.255.255.255',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toEqual({ public: true });
  });
});

describe('normaliseHost', () => {
  it.each([
    ['0x7f.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['Metadata.Google.Internal.', 'metadata.google.internal'],
    ['example.com', 'example.com'],
  ])('%s → %s', (host, expected) => expect(normaliseHost(host)).toBe(expected));

  it.each(['', ' ', 'a/b', 'a@b', '[::1', 'exa mple.com', '256.256.256.256'])('%j is not a host', (host) => expect(normaliseHost(host)).toBeUndefined());
});

describe('OutboundAllowList', () => {
  it('parses host names, addresses and ranges; empty is nothing', () => {
    expect(allow('').empty).toBe(true);
    expect(allow(' , ').empty).toBe(true);
    const list = allow('127.0.0.1/32, ::1 ,Internal.Example.com., 10.0.0.0/8,[fd00::1],fd12::/16');
    expect(list.empty).toBe(false);
    expect(list.allowsAddress('127.0.0.1')).toBe(true);
    expect(list.allowsAddress('127.0.0.2')).toBe(false);
    expect(list.allowsAddress('::ffff:127.0.0.1')).toBe(true); // IPv4 ranges cover mapped addresses
    expect(list.allowsAddress('::1')).toBe(true);
    expect(list.allowsAddress('10.200.0.1')).toBe(true);
    expect(list.allowsAddress('fd00::1')).toBe(true);
    expect(list.allowsAddress('fd12:1::1')).toBe(true);
    expect(list.allowsAddress('fd13::1')).toBe(false);
    expect(list.allowsAddress('internal.example.com')).toBe(false);
    expect(list.allowsHost('internal.example.com')).toBe(true);
    expect(list.allowsHost('INTERNAL.example.com.')).toBe(true);
    expect(list.allowsHost('other.example.com')).toBe(false);
    expect(list.allowsHost('sub.internal.example.com')).toBe(false); // exact names only
  });

  it('refuses bad entries, naming each', () => {
    const r = OutboundAllowList.parse('10.0.0.0/33,::1/129,example.com/8,10.0.0.0/x,0x7f.1,bad host,a_b.example');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      '"10.0.0.0/33": the prefix length must be 0 to 32',
      '"::1/129": the prefix length must be 0 to 128',
      '"example.com/8": a range must be an IP address and a prefix length (10.0.0.0/8, fd00::/8)',
      '"10.0.0.0/x": the prefix length must be 0 to 32',
      '"0x7f.1": write the address as 127.0.0.1',
      '"bad host": not a host name, an IP address or a CIDR range',
      '"a_b.example": not a host name, an IP address or a CIDR range',
    ]);
  });
});

describe('outboundHostProblem (configured hosts)', () => {
  it.each([
    ['127.0.0.1', /127\.0\.0\.1 \(loopback\)/],
    ['0x7f.1', /127\.0\.0\.1 \(loopback\)/],
    ['2130706433', /127\.0\.0\.1 \(loopback\)/],
    ['[::1]', /::1 \(loopback\)/],
    ['::ffff:127.0.0.1', /loopback/],
    ['169.254.169.254', /cloud metadata/],
    ['10.0.0.5', /private/],
    ['[fe80::1]', /link-local/],
    ['metadata.google.internal', /metadata\.google\.internal \(cloud metadata\)/],
    ['METADATA', /cloud metadata/],
    ['instance-data', /cloud metadata/],
    ['metadata.goog.', /cloud metadata/],
    ['not a host', /not a valid host/],
  ])('%s is refused', (host, message) => {
    expect(outboundHostProblem(host, OutboundAllowList.NONE)).toMatch(message);
  });

  it.each(['example.com', 'hooks.example.com', '8.8.8.8', '[2606:4700:4700::1111]', 'localhost'])(
    '%s is accepted (host names are checked when resolved)',
    (host) => {
      expect(outboundHostProblem(host, OutboundAllowList.NONE)).toBeUndefined();
    },
  );

  it('accepts what the operator allow-listed', () => {
    const list = allow('127.0.0.1/32,::1,metadata.google.internal');
    expect(outboundHostProblem('127.0.0.1', list)).toBeUndefined();
    expect(outboundHostProblem('0x7f.1', list)).toBeUndefined();
    expect(outboundHostProblem('[::1]', list)).toBeUndefined();
    expect(outboundHostProblem('metadata.google.internal', list)).toBeUndefined();
    expect(outboundHostProblem('127.0.0.2', list)).toMatch(/loopback/);
    expect(outboundHostProblem('169.254.169.254', list)).toMatch(/cloud metadata/);
  });
});

describe('outboundAddressProblem (resolved addresses)', () => {
  it('refuses a name resolving to a non-public address unless the name or the address is allow-listed', () => {
    expect(outboundAddressProblem('localhost', '127.0.0.1', OutboundAllowList.NONE)).toMatch(
      /^localhost resolves to 127\.0\.0\.1 \(loopback\); .*ACTIVATION_OUTBOUND_ALLOW/,
    );
    expect(outboundAddressProblem('rebind.example', '169.254.169.254', OutboundAllowList.NONE)).toMatch(/cloud metadata/);
    expect(outboundAddressProblem('example.com', '93.184.215.14', OutboundAllowList.NONE)).toBeUndefined();
    expect(outboundAddressProblem('localhost', '127.0.0.1', allow('localhost'))).toBeUndefined();
    expect(outboundAddressProblem('localhost', '::1', allow('127.0.0.0/8'))).toMatch(/::1 \(loopback\)/);
    expect(outboundAddressProblem('internal.example.com', '10.1.2.3', allow('10.0.0.0/8'))).toBeUndefined();
  });
});
