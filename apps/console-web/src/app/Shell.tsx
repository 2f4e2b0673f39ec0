import { AppShell, Burger, Button, Group, NavLink, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { MAIN_ID, skipToMain, useFocusHeadingOnNavigation } from './page-focus';
import { useUser, useSession } from './session';

const NAV = [
  { to: '/live', label: 'Live', testId: 'nav-live', admin: false },
  { to: '/contacts', label: 'Contacts', testId: 'nav-contacts', admin: false },
  { to: '/segments', label: 'Segments', testId: 'nav-segments', admin: false },
  { to: '/sources', label: 'Sources', testId: 'nav-sources', admin: true },
  { to: '/users', label: 'Users', testId: 'nav-users', admin: true },
];

/** Activation's pages, grouped under one heading in the navigation. */
const ACTIVATION_NAV = [
  { to: '/activation/destinations', label: 'Destinations', testId: 'nav-destinations' },
  { to: '/activation/triggers', label: 'Triggers', testId: 'nav-triggers' },
  { to: '/activation/deliveries', label: 'Delivery log', testId: 'nav-deliveries' },
  { to: '/activation/experiences', label: 'Experiences', testId: 'nav-experiences' },
  { to: '/activation/dead-letters', label: 'Dead letters', testId: 'nav-dead-letters' },
];

/** The signed-in layout: header (user, role, sign out), navigation, main. */
export function Shell() {
  const user = useUser();
  const { signOut } = useSession();
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const [opened, { toggle, close }] = useDisclosure(false);
  useFocusHeadingOnNavigation(pathname);

  const onSignOut = async () => {
    await signOut().catch(() => undefined);
    navigate('/login', { replace: true });
  };

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <a href={`#${MAIN_ID}`} className="skip-link" data-testid="skip-link" onClick={skipToMain}>
          Skip to main content
        </a>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text fw={700} size="lg">
              Mosaic console
            </Text>
          </Group>
          <Group gap="sm">
            <Text data-testid="signed-in-user" size="sm">
              {user.username} ({user.role})
            </Text>
            <Button data-testid="sign-out" variant="default" size="xs" onClick={() => void onSignOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        {NAV.filter((n) => !n.admin || user.role === 'admin').map((n) => (
          <NavLink
            key={n.to}
            component={Link}
            to={n.to}
            label={n.label}
            data-testid={n.testId}
            active={pathname === n.to || pathname.startsWith(`${n.to}/`)}
            aria-current={pathname.startsWith(n.to) ? 'page' : undefined}
            onClick={close}
          />
        ))}
        <div role="group" aria-labelledby="nav-activation-label" data-testid="nav-activation">
          <Text id="nav-activation-label" size="xs" fw={700} tt="uppercase" mt="sm" mb={4} px="sm">
            Activation
          </Text>
          {ACTIVATION_NAV.map((n) => (
            <NavLink
              key={n.to}
              component={Link}
              to={n.to}
              label={n.label}
              data-testid={n.testId}
              pl="lg"
              active={pathname === n.to}
              aria-current={pathname === n.to ? 'page' : undefined}
              onClick={close}
            />
          ))}
        </div>
      </AppShell.Navbar>
      <AppShell.Main id={MAIN_ID} tabIndex={-1}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
