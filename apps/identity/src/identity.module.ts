import { Module, type DynamicModule } from '@nestjs/common';
import type { CommonConfig } from '@mosaic/shared-config';
import type { Platform } from '@mosaic/shared-service';
import { IdentitiesController, ProfilesController, RulesController } from './admin.controllers';
import type { IdentityEnv } from './identity.config';
import { IdentityService } from './identity.service';

@Module({})
export class IdentityModule {
  /** Wiring only: the service (store, rules, cache, consumer, sweep) is created before HTTP listens; consumers start after. */
  static forRoot(platform: Platform, config: CommonConfig & { own: IdentityEnv }): DynamicModule {
    return {
      module: IdentityModule,
      controllers: [IdentitiesController, ProfilesController, RulesController],
      providers: [{ provide: IdentityService, useFactory: () => IdentityService.start(platform, config) }],
      exports: [IdentityService],
    };
  }
}
