import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { FindLiveProfile, ListProfileAudit, LookUpIdentifier, ResolveEventBatch, SplitProfile } from '@mosaic/identity-application';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import type { IdentityEnv } from './identity.config';
import { IdentityConsumer } from './identity.consumer';
import { IdentityService } from './identity.service';
import { IdentitiesController } from './identities.controller';
import { ProfilesController } from './profiles.controller';
import { RulesCache } from './rules.cache';
import { RulesController } from './rules.controller';

/** What the consumer and the controllers inject, taken from the assembled service. */
const fromService = (token: abstract new (...args: never[]) => unknown, pick: (s: IdentityService) => unknown): Provider => ({
  provide: token,
  useFactory: pick,
  inject: [IdentityService],
});

@Module({})
export class IdentityModule {
  /** Wiring only: the service (repository, rules, cache, use cases, sweep) is created before HTTP listens; the consumer starts after. */
  static forRoot(platform: Platform, config: CommonConfig & { own: IdentityEnv }): DynamicModule {
    return {
      module: IdentityModule,
      controllers: [IdentitiesController, ProfilesController, RulesController, IdentityConsumer],
      providers: [
        { provide: IdentityService, useFactory: () => IdentityService.start(platform, config) },
        fromService(ResolveEventBatch, (s) => s.resolveEventBatch),
        fromService(SplitProfile, (s) => s.splitProfile),
        fromService(FindLiveProfile, (s) => s.findLiveProfile),
        fromService(LookUpIdentifier, (s) => s.lookUpIdentifier),
        fromService(ListProfileAudit, (s) => s.listProfileAudit),
        fromService(RulesCache, (s) => s.rules),
      ],
      exports: [IdentityService],
    };
  }
}
