/** Every tool the daemon lists, in tools/list order: one list for every test that counts them. */
export const TOOLS = [
  'generate_sprite',
  'generate_batch',
  'generate_character',
  'edit_sprite',
  'deploy_to_bevy',
  'get_job',
  'wait_job',
  'cancel_job',
  'list_jobs',
  'list_models',
  'get_status',
  'list_styles',
  'rebuild_sprites',
  'process_sprite',
];
