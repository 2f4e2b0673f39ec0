/**
 * Destinations, triggers and experiences as this instance holds them: reloaded from the store on
 * an interval and after changes made here (so another instance's change shows within the interval).
 */
import type { Destination, Experience, Trigger } from '@mosaic/activation-domain';
import { Reloader } from '@mosaic/shared-service';
import type { DestinationDocument, TriggerDocument } from './documents';
import type { DestinationsRepository } from './destinations.repository';
import type { ExperiencesRepository } from './experiences.repository';
import type { TriggersRepository } from './triggers.repository';

export interface ConfigRepositories {
  destinations: DestinationsRepository;
  triggers: TriggersRepository;
  experiences: ExperiencesRepository;
}

export class ConfigCache {
  private triggersList: Trigger[] = [];
  private experiencesList: Experience[] = [];
  private experiencesSignature: string | undefined;
  private destinationsById = new Map<string, Destination>();
  private readonly reloader = new Reloader(() => this.load());

  constructor(private readonly repositories: ConfigRepositories) {}

  /** Enabled triggers. */
  triggers(): readonly Trigger[] {
    return this.triggersList;
  }

  destination(id: string): Destination | undefined {
    return this.destinationsById.get(id);
  }

  /** Every destination, enabled or not. */
  destinations(): readonly Destination[] {
    return [...this.destinationsById.values()];
  }

  /** Enabled experiences, by id. */
  experiences(): readonly Experience[] {
    return this.experiencesList;
  }

  /** Resolves once a load that began after this call is held (see `Reloader`). */
  reload(): Promise<void> {
    return this.reloader.reload();
  }

  private async load(): Promise<void> {
    const [triggers, destinations, experiences] = await Promise.all([
      this.repositories.triggers.listEnabled(),
      this.repositories.destinations.all(),
      this.repositories.experiences.listEnabled(),
    ]);
    // The same list object while nothing changed: decisions remembered against it stay valid (DecisionMemo).
    const signature = experiences.map((e) => e.json).join('\n');
    if (signature !== this.experiencesSignature) {
      this.experiencesList = experiences.map((e) => JSON.parse(e.json) as Experience);
      this.experiencesSignature = signature;
    }
    this.triggersList = triggers.map(triggerOf);
    this.destinationsById = new Map(destinations.map((d) => [d._id, destinationOf(d)]));
  }
}

function triggerOf(t: TriggerDocument): Trigger {
  return {
    id: t._id,
    segmentKey: t.segmentKey,
    on: t.on,
    destinationId: t.destinationId,
    ...(t.delaySeconds > 0 ? { delaySeconds: t.delaySeconds } : {}),
    ...(t.frequencyCap ? { frequencyCap: JSON.parse(t.frequencyCap) as Trigger['frequencyCap'] } : {}),
  };
}

function destinationOf(d: DestinationDocument): Destination {
  return { ...(JSON.parse(d.config) as Destination), id: d._id, name: d.name, enabled: d.enabled };
}
