import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { MantineProvider, createTheme, type CSSVariablesResolver } from '@mantine/core';
import '@mantine/core/styles.css';
import './app/focus.css';
import { App } from './app/App';

// Contrast (WCAG AA, 4.5:1): a darker primary shade for white text on filled buttons, a darker
// "dimmed" text colour than Mantine's default gray-6, and darker text on light-variant
// backgrounds (alerts, light buttons, the active navigation link, also when hovered).
const theme = createTheme({ primaryShade: { light: 8, dark: 8 } });
const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-color-blue-light-color': '#0b4a85',
    '--mantine-color-green-light-color': '#1e6b30',
    '--mantine-color-red-light-color': '#a51d1d',
    '--mantine-color-orange-light-color': '#a33a06',
    '--mantine-color-yellow-light-color': '#7a4100',
  },
  dark: {},
});

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver}>
      <App />
    </MantineProvider>
  </StrictMode>,
);
