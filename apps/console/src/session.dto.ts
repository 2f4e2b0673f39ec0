import { ApiProperty } from '@nestjs/swagger';
import { ROLES } from '@mosaic/console-domain';

export class SignInDto {
  @ApiProperty({ example: 'admin' }) username!: string;
  @ApiProperty({ example: 'correct horse battery staple' }) password!: string;
}

export class UserView {
  @ApiProperty({ example: 'ada' }) username!: string;
  @ApiProperty({ enum: ROLES }) role!: string;
}

export class SpaSettingsView {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'https://cdp.example.com',
    description: "The collector's public base URL (COLLECTOR_PUBLIC_URL), the tracker snippet's default; null when not configured",
  })
  collectorPublicUrl!: string | null;
}

export class SessionResponse {
  @ApiProperty({ type: UserView }) user!: UserView;
  @ApiProperty({ description: 'Send it as X-CSRF-Token with every request that is not GET or HEAD' }) csrfToken!: string;
  @ApiProperty({ type: SpaSettingsView, description: 'What the single-page app needs to know about this deployment' }) settings!: SpaSettingsView;
}
