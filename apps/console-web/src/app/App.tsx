import { Center, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { SessionProvider, useSession } from './session';
import { Shell } from './Shell';
import { LoginPage } from '../pages/LoginPage';
import { ContactsPage } from '../pages/ContactsPage';
import { LivePage } from '../pages/live/LivePage';
import { ContactPage } from '../pages/contact/ContactPage';
import { SegmentsListPage } from '../pages/segments/SegmentsListPage';
import { SegmentEditorPage } from '../pages/segments/SegmentEditorPage';
import { SourcesPage } from '../pages/sources/SourcesPage';
import { DestinationsPage } from '../pages/activation/DestinationsPage';
import { TriggersPage } from '../pages/activation/TriggersPage';
import { DeliveriesPage } from '../pages/activation/DeliveriesPage';
import { ExperiencesPage } from '../pages/activation/ExperiencesPage';
import { DeadLettersPage } from '../pages/activation/DeadLettersPage';
import { UsersPage } from '../pages/users/UsersPage';

function Loading() {
  return (
    <Center h="100vh">
      <Loader aria-label="Loading" />
    </Center>
  );
}

/** Signed-in routes: `GET /api/session` decides; a 401 anywhere sends the user to /login. */
function RequireSession({ children }: { children: ReactNode }) {
  const { user } = useSession();
  const location = useLocation();
  if (user === undefined) return <Loading />;
  if (user === null) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

function AdminOnly({ children }: { children: ReactNode }) {
  const { user } = useSession();
  if (user?.role !== 'admin') return <Navigate to="/contacts" replace />;
  return <>{children}</>;
}

export function App() {
  return (
    <SessionProvider>
      <BrowserRouter>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route
            element={
              <RequireSession>
                <Shell />
              </RequireSession>
            }
          >
            <Route path="/" element={<Navigate to="/live" replace />} />
            <Route path="/live" element={<LivePage />} />
            <Route path="/contacts" element={<ContactsPage />} />
            <Route path="/contacts/:id" element={<ContactPage />} />
            <Route path="/segments" element={<SegmentsListPage />} />
            <Route path="/segments/new" element={<SegmentEditorPage />} />
            <Route path="/segments/:key" element={<SegmentEditorPage />} />
            <Route
              path="/sources"
              element={
                <AdminOnly>
                  <SourcesPage />
                </AdminOnly>
              }
            />
            <Route path="/activation/destinations" element={<DestinationsPage />} />
            <Route path="/activation/triggers" element={<TriggersPage />} />
            <Route path="/activation/deliveries" element={<DeliveriesPage />} />
            <Route path="/activation/experiences" element={<ExperiencesPage />} />
            <Route path="/activation/dead-letters" element={<DeadLettersPage />} />
            <Route
              path="/users"
              element={
                <AdminOnly>
                  <UsersPage />
                </AdminOnly>
              }
            />
            <Route path="*" element={<Navigate to="/contacts" replace />} />
          </Route>
        </Routes>
      </BrowserRouter>
    </SessionProvider>
  );
}
