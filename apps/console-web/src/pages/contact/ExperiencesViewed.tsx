import { Badge, Table, Text, Title } from '@mantine/core';
import { seg, svc } from '../../api/client';
import type { TimelineEvent, TimelineResponse } from '../../api/types';
import { whenIdle } from '../../app/when-idle';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';

/** The tracker's exposure event (libs/tracker: one per slot `decide()` rendered). */
const EXPOSURE_EVENT = 'Experience Viewed';
const LIMIT = 100;

interface Exposure {
  messageId: string;
  at: string;
  slot: string;
  experienceId: string;
  ruleId: string | null;
  holdout: boolean;
}

function toExposure(e: TimelineEvent): Exposure {
  const p = (e.raw['properties'] ?? {}) as Record<string, unknown>;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '—');
  return {
    messageId: e.messageId,
    at: e.at,
    slot: text(p['slot']),
    experienceId: text(p['experience_id']),
    ruleId: typeof p['rule_id'] === 'string' ? p['rule_id'] : null,
    holdout: p['holdout'] === true,
  };
}

function Outcome({ x }: { x: Exposure }) {
  if (x.holdout)
    return (
      <Badge variant="outline" color="gray">
        holdout (default)
      </Badge>
    );
  if (x.ruleId === null)
    return (
      <Badge variant="outline" color="gray">
        default
      </Badge>
    );
  return <Badge variant="light">rule {x.ruleId}</Badge>;
}

/** The experiences served to this contact: their `Experience Viewed` events, from enrichment's timeline. */
export function ExperiencesViewed({ profileId }: { profileId: string }) {
  // after the page's first render: the exposures must not compete with it
  const res = useAsync(
    async (signal) => {
      await whenIdle(signal);
      return svc<TimelineResponse>('enrichment', `/v1/profiles/${seg(profileId)}/timeline?event=${encodeURIComponent(EXPOSURE_EVENT)}&limit=${LIMIT}`, {
        signal,
      });
    },
    [profileId],
  );
  const rows = (res.data?.events ?? []).map(toExposure);
  return (
    <>
      <Title order={3} size="h4" id="experiences-heading">
        Experiences viewed
      </Title>
      {res.loading && <LoadingLine label="Loading the experiences shown" />}
      <ErrorAlert error={res.error} title="Experiences viewed" />
      {res.data && rows.length === 0 && (
        <Text size="sm" c="dimmed">
          No experience shown to this contact (the tracker records one when decide() renders a slot).
        </Text>
      )}
      {rows.length > 0 && (
        <Table withTableBorder fz="sm" aria-labelledby="experiences-heading" data-testid="contact-experiences">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Viewed</Table.Th>
              <Table.Th>Slot</Table.Th>
              <Table.Th>Experience</Table.Th>
              <Table.Th>Shown</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((x) => (
              <Table.Tr
                key={x.messageId}
                data-testid="contact-experience"
                data-slot={x.slot}
                data-experience-id={x.experienceId}
                data-rule-id={x.ruleId ?? ''}
                data-holdout={String(x.holdout)}
              >
                <Table.Td>{formatTime(x.at)}</Table.Td>
                <Table.Td>{x.slot}</Table.Td>
                <Table.Td>{x.experienceId}</Table.Td>
                <Table.Td>
                  <Outcome x={x} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {res.data?.next && (
        <Text size="sm" c="dimmed">
          Only the latest {LIMIT} are listed.
        </Text>
      )}
    </>
  );
}
