import { Alert, Anchor, Stack, Text, Title } from '@mantine/core';
import { Link, useParams } from 'react-router-dom';
import { seg, svc } from '../../api/client';
import type { IdentityProfileResponse } from '../../api/types';
import { ErrorAlert, LoadingLine, useAsync } from '../../components/common';
import { IdentitySection } from './IdentitySection';
import { ProfileSection } from './ProfileSection';
import { SegmentsSection } from './SegmentsSection';
import { DeliveriesSection } from './DeliveriesSection';
import { TimelineSection } from './timeline/TimelineSection';
import { prefetchActivity } from './timeline/model';

/** `/contacts/:id`: identity, profile data, segments, timeline, deliveries of one contact. */
export function ContactPage() {
  const { id = '' } = useParams();
  const identity = useAsync(
    (signal) => {
      prefetchActivity(id); // the timeline's one request, asked beside identity's instead of after it
      return svc<IdentityProfileResponse>('identity', `/v1/profiles/${seg(id)}`, { signal });
    },
    [id],
  );
  const profileId = identity.data?.profileId ?? id;

  return (
    <Stack data-testid="contact-page" data-profile-id={profileId} gap="lg">
      <Title order={1}>Contact {profileId}</Title>
      {identity.loading && !identity.data && <LoadingLine label="Loading the contact" />}
      <ErrorAlert error={identity.error} title="Identity" />
      {identity.data?.redirected && (
        <Alert color="blue" role="status">
          {id} was merged into this contact ({identity.data.path.join(' → ')}).
        </Alert>
      )}
      {identity.data?.profile.splitFrom && (
        <Text size="sm">
          Split off{' '}
          <Anchor component={Link} to={`/contacts/${encodeURIComponent(identity.data.profile.splitFrom.profileId)}`}>
            {identity.data.profile.splitFrom.profileId}
          </Anchor>
          .
        </Text>
      )}
      {(identity.data !== undefined || identity.error !== undefined) && (
        <>
          <IdentitySection profileId={profileId} identity={identity.data} reload={identity.reload} />
          <ProfileSection profileId={profileId} />
          <SegmentsSection profileId={profileId} />
          <TimelineSection profileId={profileId} />
          <DeliveriesSection profileId={profileId} />
        </>
      )}
    </Stack>
  );
}
